#pragma once
// Host-side helpers of the CUDA kernel registrations.

#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "cuda/check.h"
#include "cuda/stream_context.h"
#include "runtime/kernel.h"

namespace kiln::cuda {

inline StreamContext& Ctx(runtime::KernelContext& ctx) { return Ctx(ctx.device_context()); }
inline cudaStream_t StreamOf(runtime::KernelContext& ctx) { return Ctx(ctx).stream(); }

// `values` as a 1-d tensor on the kernel's device, ordered on its stream.
template <typename T>
StatusOr<Tensor> Upload(runtime::KernelContext& ctx, const std::vector<T>& values) {
  return Ctx(ctx).ToDevice(Tensor::FromVector<T>({static_cast<int64_t>(values.size())}, values));
}

// A kernel that runs `op`'s CPU kernel on device tensors: for ops whose CPU kernels read nothing
// but shapes and host inputs, and move elements only through kernels/cpu/array_util.h's "On"
// primitives (relabelling ops such as Reshape; slices, pads, concatenation).
runtime::KernelFn CpuKernelOnDevice(std::string op);

// Integer values of a host input (axes, shapes, paddings).
StatusOr<std::vector<int64_t>> HostInt64s(const runtime::KernelContext& ctx, int input);

// The dtypes `list` plus bool, for kernels whose output is a predicate.
std::vector<DType> WithBool(std::vector<DType> list);

// Widely supported dtype lists.
const std::vector<DType>& FloatDTypes();    // float32, float16, bfloat16, float64
const std::vector<DType>& NumericDTypes();  // the floats and int8/16/32/64, uint8
const std::vector<DType>& AllDTypes();      // every dtype but strings

}  // namespace kiln::cuda
