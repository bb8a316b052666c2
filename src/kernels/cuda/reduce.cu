// Reductions, arg-reductions, scans and softmax, with the CPU kernels' semantics
// (src/kernels/cpu/reduction.cc, softmax.cc).
#include <cfloat>
#include <climits>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/reduce.h"

namespace kiln::cuda {
namespace {

template <typename T>
using AccOf = typename std::conditional_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, std::make_unsigned<T>,
                                          std::type_identity<Compute<T>>>::type;

template <typename C>
__device__ __forceinline__ C Lowest() {
  if constexpr (std::is_same_v<C, float>) return -INFINITY;
  if constexpr (std::is_same_v<C, double>) return -static_cast<double>(INFINITY);
  if constexpr (std::is_same_v<C, int32_t>) return INT_MIN;
  if constexpr (std::is_same_v<C, int64_t>) return LLONG_MIN;
}
template <typename C>
__device__ __forceinline__ C Highest() {
  if constexpr (std::is_same_v<C, float>) return INFINITY;
  if constexpr (std::is_same_v<C, double>) return static_cast<double>(INFINITY);
  if constexpr (std::is_same_v<C, int32_t>) return INT_MAX;
  if constexpr (std::is_same_v<C, int64_t>) return LLONG_MAX;
}

// One reduction: Init, Step (fold in an element, as a compute value), Combine (two partials),
// Finish (the stored result from the accumulator and the count).
template <ReduceOp op, typename T>
struct Reducer {
  using C = Compute<T>;
  using Acc = std::conditional_t<op == ReduceOp::kMax || op == ReduceOp::kMin, C, AccOf<T>>;

  __device__ static Acc Init() {
    if constexpr (op == ReduceOp::kProd) return Acc(1);
    if constexpr (op == ReduceOp::kMax) return Lowest<C>();
    if constexpr (op == ReduceOp::kMin) return Highest<C>();
    if constexpr (op == ReduceOp::kAll) return true;
    if constexpr (op == ReduceOp::kAny) return false;
    return Acc(0);
  }
  __device__ static Acc Step(Acc a, C x) {
    if constexpr (op == ReduceOp::kProd) return a * static_cast<Acc>(x);
    if constexpr (op == ReduceOp::kMax) return (x > a || x != x) ? x : a;
    if constexpr (op == ReduceOp::kMin) return (x < a || x != x) ? x : a;
    if constexpr (op == ReduceOp::kEuclideanNorm) return a + static_cast<Acc>(x) * static_cast<Acc>(x);
    if constexpr (op == ReduceOp::kAll) return a && x;
    if constexpr (op == ReduceOp::kAny) return a || x;
    return a + static_cast<Acc>(x);
  }
  __device__ static Acc Combine(Acc a, Acc b) {
    if constexpr (op == ReduceOp::kProd) return a * b;
    if constexpr (op == ReduceOp::kMax || op == ReduceOp::kMin) return Step(a, b);
    if constexpr (op == ReduceOp::kAll) return a && b;
    if constexpr (op == ReduceOp::kAny) return a || b;
    return a + b;
  }
  __device__ static T Finish(Acc a, int64_t n) {
    if constexpr (op == ReduceOp::kMean) {
      if constexpr (std::is_integral_v<T>) {
        return n == 0 ? T(0) : static_cast<T>(static_cast<T>(a) / static_cast<T>(n));
      } else {
        return Narrow<T>(a / static_cast<Acc>(n));
      }
    } else if constexpr (op == ReduceOp::kEuclideanNorm) {
      return Narrow<T>(sqrt(static_cast<double>(a)));
    } else {
      return Narrow<T>(static_cast<C>(a));
    }
  }
};

template <typename A>
__device__ __forceinline__ A ShuffleDown(A v, int offset) {
  if constexpr (std::is_same_v<A, bool>) {
    return __shfl_down_sync(0xffffffffu, static_cast<int>(v), offset) != 0;
  } else {
    return __shfl_down_sync(0xffffffffu, v, offset);
  }
}

template <typename R>
__device__ __forceinline__ typename R::Acc WarpCombine(typename R::Acc a) {
  for (int offset = 16; offset > 0; offset >>= 1) a = R::Combine(a, ShuffleDown(a, offset));
  return a;
}

// inner == 1: one warp per row.
template <ReduceOp op, typename T>
__global__ void ReduceRowsKernel(const T* __restrict__ in, T* __restrict__ out, int64_t outer, int64_t reduce) {
  using R = Reducer<op, T>;
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32; row < outer; row += warps) {
    typename R::Acc a = R::Init();
    const T* p = in + row * reduce;
    for (int64_t r = lane; r < reduce; r += 32) a = R::Step(a, Widen(p[r]));
    a = WarpCombine<R>(a);
    if (lane == 0) out[row] = R::Finish(a, reduce);
  }
}

// inner == 1 with few long rows: one block per row.
template <ReduceOp op, typename T>
__global__ void ReduceLongRowsKernel(const T* __restrict__ in, T* __restrict__ out, int64_t reduce) {
  using R = Reducer<op, T>;
  __shared__ typename R::Acc partial[kThreads / 32];
  const int64_t row = blockIdx.x;
  typename R::Acc a = R::Init();
  const T* p = in + row * reduce;
  for (int64_t r = threadIdx.x; r < reduce; r += blockDim.x) a = R::Step(a, Widen(p[r]));
  a = WarpCombine<R>(a);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = a;
  __syncthreads();
  if (threadIdx.x < 32) {
    a = threadIdx.x < blockDim.x / 32 ? partial[threadIdx.x] : R::Init();
    a = WarpCombine<R>(a);
    if (threadIdx.x == 0) out[row] = R::Finish(a, reduce);
  }
}

// inner > 1: one thread per (outer, inner) output, walking the reduced axis (reads coalesce across
// the inner dim).
template <ReduceOp op, typename T>
__global__ void ReduceMiddleKernel(const T* __restrict__ in, T* __restrict__ out, int64_t outer, int64_t reduce,
                                   int64_t inner) {
  using R = Reducer<op, T>;
  KILN_GRID_STRIDE_LOOP(i, outer * inner) {
    const int64_t o = i / inner, j = i % inner;
    typename R::Acc a = R::Init();
    const T* p = in + o * reduce * inner + j;
    for (int64_t r = 0; r < reduce; ++r) a = R::Step(a, Widen(p[r * inner]));
    out[i] = R::Finish(a, reduce);
  }
}

template <ReduceOp op>
auto ReduceTypes() {
  if constexpr (op == ReduceOp::kAll || op == ReduceOp::kAny) {
    return Types<bool>{};
  } else {
    return Types<float, __half, __nv_bfloat16, double, int32_t, int64_t>{};
  }
}

template <ReduceOp op>
cudaError_t Reduce(DType dtype, const void* in, void* out, int64_t outer, int64_t reduce, int64_t inner,
                   cudaStream_t stream) {
  return Dispatch(ReduceTypes<op>(), dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    if (inner > 1) {
      ReduceMiddleKernel<op, T><<<BlocksFor(outer * inner), kThreads, 0, stream>>>(x, y, outer, reduce, inner);
    } else if (outer < 512 && reduce >= 4096) {
      ReduceLongRowsKernel<op, T><<<static_cast<unsigned>(outer), kThreads, 0, stream>>>(x, y, reduce);
    } else {
      ReduceRowsKernel<op, T><<<BlocksFor(outer * 32), kThreads, 0, stream>>>(x, y, outer, reduce);
    }
    return cudaGetLastError();
  });
}

template <typename C, bool kMax>
__device__ __forceinline__ bool Better(C x, C best) {
  if constexpr (!std::is_integral_v<C>) {
    if (best != best) return x == x;
  }
  return kMax ? x > best : x < best;
}

template <typename T, typename Index, bool kMax>
__global__ void ArgReduceKernel(const T* __restrict__ in, Index* __restrict__ out, int64_t outer, int64_t reduce,
                                int64_t inner) {
  KILN_GRID_STRIDE_LOOP(i, outer * inner) {
    const int64_t o = i / inner, j = i % inner;
    const T* p = in + o * reduce * inner + j;
    auto best = Widen(p[0]);
    int64_t at = 0;
    for (int64_t r = 1; r < reduce; ++r) {
      const auto x = Widen(p[r * inner]);
      if (Better<decltype(x), kMax>(x, best)) {
        best = x;
        at = r;
      }
    }
    out[i] = static_cast<Index>(at);
  }
}

using ArgTypes = Types<float, __half, __nv_bfloat16, double, int32_t, int64_t, bool>;

template <typename T, bool kProduct>
__global__ void ScanKernel(const T* __restrict__ in, T* __restrict__ out, int64_t outer, int64_t len, int64_t inner,
                           bool exclusive, bool reverse) {
  using Acc = AccOf<T>;
  KILN_GRID_STRIDE_LOOP(i, outer * inner) {
    const int64_t o = i / inner, j = i % inner;
    Acc acc = Acc(kProduct ? 1 : 0);
    for (int64_t step = 0; step < len; ++step) {
      const int64_t r = reverse ? len - 1 - step : step;
      const int64_t at = (o * len + r) * inner + j;
      const Acc before = acc;
      acc = kProduct ? before * static_cast<Acc>(Widen(in[at])) : before + static_cast<Acc>(Widen(in[at]));
      out[at] = Narrow<T>(static_cast<Compute<T>>(exclusive ? before : acc));
    }
  }
}

using ScanTypes = Types<float, __half, __nv_bfloat16, double, int32_t, int64_t>;

// One warp per row for rows of up to 1024 elements, one block per row past that.
template <typename T, bool kLog>
__global__ void SoftmaxKernel(const T* __restrict__ in, T* __restrict__ out, int64_t rows, int64_t cols,
                              bool block_per_row) {
  using C = Compute<T>;
  __shared__ C shared[kThreads / 32];
  const int lanes = block_per_row ? blockDim.x : 32;
  const int lane = block_per_row ? threadIdx.x : threadIdx.x % 32;
  const int64_t first = block_per_row ? blockIdx.x : (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
  const int64_t step = block_per_row ? gridDim.x : static_cast<int64_t>(gridDim.x) * blockDim.x / 32;
  auto reduce = [&](C v, bool take_max) -> C {
    for (int offset = 16; offset > 0; offset >>= 1) {
      const C o = __shfl_down_sync(0xffffffffu, v, offset);
      v = take_max ? (o > v ? o : v) : v + o;
    }
    v = __shfl_sync(0xffffffffu, v, 0);
    if (!block_per_row) return v;
    __syncthreads();
    if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = v;
    __syncthreads();
    C total = shared[0];
    for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) total = take_max ? (shared[w] > total ? shared[w] : total) : total + shared[w];
    return total;
  };
  for (int64_t row = first; row < rows; row += step) {
    const T* x = in + row * cols;
    T* y = out + row * cols;
    C max = -INFINITY;
    for (int64_t j = lane; j < cols; j += lanes) max = fmax(max, Widen(x[j]));
    max = reduce(max, true);
    C sum = 0;
    for (int64_t j = lane; j < cols; j += lanes) sum += exp(Widen(x[j]) - max);
    sum = reduce(sum, false);
    if constexpr (kLog) {
      const C log_sum = log(sum);
      for (int64_t j = lane; j < cols; j += lanes) y[j] = Narrow<T>(Widen(x[j]) - max - log_sum);
    } else {
      const C inv = C(1) / sum;
      for (int64_t j = lane; j < cols; j += lanes) y[j] = Narrow<T>(exp(Widen(x[j]) - max) * inv);
    }
  }
}

}  // namespace

std::vector<DType> ReduceDTypes(ReduceOp op) {
  return op == ReduceOp::kAll || op == ReduceOp::kAny ? std::vector<DType>{DType::kBool}
                                                      : DTypeList(ReduceTypes<ReduceOp::kSum>());
}

cudaError_t LaunchReduce(ReduceOp op, DType dtype, const void* in, void* out, int64_t outer, int64_t reduce,
                         int64_t inner, cudaStream_t stream) {
  if (outer * inner == 0) return cudaSuccess;
  switch (op) {
    case ReduceOp::kSum: return Reduce<ReduceOp::kSum>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kMean: return Reduce<ReduceOp::kMean>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kProd: return Reduce<ReduceOp::kProd>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kMax: return Reduce<ReduceOp::kMax>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kMin: return Reduce<ReduceOp::kMin>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kEuclideanNorm: return Reduce<ReduceOp::kEuclideanNorm>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kAll: return Reduce<ReduceOp::kAll>(dtype, in, out, outer, reduce, inner, stream);
    case ReduceOp::kAny: return Reduce<ReduceOp::kAny>(dtype, in, out, outer, reduce, inner, stream);
  }
  return cudaErrorNotSupported;
}

std::vector<DType> ArgReduceDTypes() { return DTypeList(ArgTypes{}); }

cudaError_t LaunchArgReduce(bool max, DType dtype, DType index_type, const void* in, void* out, int64_t outer,
                            int64_t reduce, int64_t inner, cudaStream_t stream) {
  const int64_t n = outer * inner;
  if (n == 0) return cudaSuccess;
  return Dispatch(ArgTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    return Dispatch(Types<int32_t, int64_t>{}, index_type, [&](auto index) {
      using Index = decltype(index);
      if (max) {
        ArgReduceKernel<T, Index, true><<<BlocksFor(n), kThreads, 0, stream>>>(
            static_cast<const T*>(in), static_cast<Index*>(out), outer, reduce, inner);
      } else {
        ArgReduceKernel<T, Index, false><<<BlocksFor(n), kThreads, 0, stream>>>(
            static_cast<const T*>(in), static_cast<Index*>(out), outer, reduce, inner);
      }
      return cudaGetLastError();
    });
  });
}

std::vector<DType> ScanDTypes() { return DTypeList(ScanTypes{}); }

cudaError_t LaunchScan(bool product, DType dtype, const void* in, void* out, int64_t outer, int64_t len,
                       int64_t inner, bool exclusive, bool reverse, cudaStream_t stream) {
  const int64_t n = outer * inner;
  if (n == 0 || len == 0) return cudaSuccess;
  return Dispatch(ScanTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    if (product) {
      ScanKernel<T, true><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out),
                                                                  outer, len, inner, exclusive, reverse);
    } else {
      ScanKernel<T, false><<<BlocksFor(n), kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out),
                                                                   outer, len, inner, exclusive, reverse);
    }
    return cudaGetLastError();
  });
}

cudaError_t LaunchSoftmax(bool log, DType dtype, const void* in, void* out, int64_t rows, int64_t cols,
                          cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaSuccess;
  const bool block_per_row = cols > 1024;
  const unsigned blocks = block_per_row ? static_cast<unsigned>(rows < (1 << 20) ? rows : (1 << 20)) : BlocksFor(rows * 32);
  return Dispatch(FloatTypes{}, dtype, [&](auto tag) {
    using T = decltype(tag);
    if (log) {
      SoftmaxKernel<T, true><<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), rows,
                                                               cols, block_per_row);
    } else {
      SoftmaxKernel<T, false><<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(in), static_cast<T*>(out), rows,
                                                                cols, block_per_row);
    }
    return cudaGetLastError();
  });
}

}  // namespace kiln::cuda
