#pragma once
// The CUDA backend: engines that run on one GPU, on the stream of the run that calls them, taking
// and returning device tensors. An engine is its segment compiled as the CPU backend compiles it
// (inputs narrowed to the shape profiles, fusion, precision, weights folded) and run by the CUDA
// runtime's kernels with the executor's memory plan. Engine files record the GPU and the CUDA,
// driver, cuDNN and cuBLAS versions; an engine made elsewhere is rebuilt or falls back.

#include "engine/backend.h"

namespace kiln::engine {

// The backend of CUDA device `device` (whether the device exists is checked when building).
const Backend& CudaBackend(int device);

}  // namespace kiln::engine
