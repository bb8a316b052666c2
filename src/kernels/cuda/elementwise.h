#pragma once
// Launchers of the elementwise kernels: unary and binary ops with broadcasting, selection,
// clipping, per-channel bias, casts and fills. Every op computes float16 and bfloat16 in float32
// and rounds once, and integers wrap on overflow, as the CPU kernels do.

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kernels/cuda/strided.h"
#include "kiln/dtype.h"

namespace kiln::cuda {

#define KILN_CUDA_UNARY_OPS(X)                                                                                   \
  X(Relu) X(Relu6) X(Elu) X(Selu) X(LeakyRelu) X(Softplus) X(Softsign) X(Sigmoid) X(Tanh) X(Erf) X(Erfc) X(Exp) \
  X(Expm1) X(Log) X(Log1p) X(Sqrt) X(Rsqrt) X(Reciprocal) X(Floor) X(Ceil) X(Rint) X(Round) X(Sin) X(Cos) X(Tan) \
  X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh) X(Neg) X(Abs) X(Sign) X(Square) X(IsNan)   \
  X(IsInf) X(IsFinite) X(LogicalNot)

#define KILN_CUDA_BINARY_OPS(X)                                                                                  \
  X(Add) X(Sub) X(Mul) X(Div) X(FloorDiv) X(FloorMod) X(TruncateDiv) X(TruncateMod) X(Maximum) X(Minimum) X(Pow) \
  X(SquaredDifference) X(Atan2) X(DivNoNan) X(MulNoNan) X(Xdivy) X(Xlogy) X(LogicalAnd) X(LogicalOr) X(Equal)   \
  X(NotEqual) X(Less) X(LessEqual) X(Greater) X(GreaterEqual)

#define KILN_CUDA_ENUMERATOR(name) k##name,
enum class UnaryOp : uint8_t { KILN_CUDA_UNARY_OPS(KILN_CUDA_ENUMERATOR) };
enum class BinaryOp : uint8_t { KILN_CUDA_BINARY_OPS(KILN_CUDA_ENUMERATOR) };
#undef KILN_CUDA_ENUMERATOR

// The dtypes each op takes on the GPU (its inputs'; predicates output bool).
std::vector<DType> UnaryDTypes(UnaryOp op);
std::vector<DType> BinaryDTypes(BinaryOp op);
bool UnaryIsPredicate(UnaryOp op);
bool BinaryIsPredicate(BinaryOp op);

// out[i] = op(in[i]) for n elements; `alpha` is LeakyRelu's slope.
cudaError_t LaunchUnary(UnaryOp op, DType dtype, const void* in, void* out, int64_t n, float alpha,
                        cudaStream_t stream);
// out = op(a, b) over map (operand 0 the contiguous output, 1 and 2 the inputs).
cudaError_t LaunchBinary(BinaryOp op, DType dtype, const void* a, const void* b, void* out, const StridedMap<3>& map,
                         cudaStream_t stream);
// out = cond ? a : b over map (operands: out, cond, a, b); moves elements of `element_size` bytes.
cudaError_t LaunchSelect(size_t element_size, const bool* cond, const void* a, const void* b, void* out,
                         const StridedMap<4>& map, cudaStream_t stream);
// out = min(max(x, lo), hi) over map (operands: out, x, lo, hi), NaN in x kept.
cudaError_t LaunchClip(DType dtype, const void* x, const void* lo, const void* hi, void* out, const StridedMap<4>& map,
                       cudaStream_t stream);
// out[i] = sum of the inputs' element i, rounding after each addition.
cudaError_t LaunchAddN(DType dtype, const std::vector<const void*>& inputs, void* out, int64_t n, cudaStream_t stream);
// Element conversion with the CPU kernel's semantics (truncate: round toward zero to float16/bfloat16).
cudaError_t LaunchCast(DType from, DType to, const void* in, void* out, int64_t n, bool truncate, cudaStream_t stream);
std::vector<DType> CastDTypes();
// out[i] = the element whose bytes are the low `element_size` bytes of `bits`, for n elements.
cudaError_t LaunchFill(size_t element_size, uint64_t bits, void* out, int64_t n, cudaStream_t stream);

}  // namespace kiln::cuda
