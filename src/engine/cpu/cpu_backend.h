#pragma once
// The CPU backend: engines that run on the host, so that every graph-level behaviour of the
// converter (partitioning, fusion, reduced precision, memory planning, serialization, fallback)
// is exercised without a GPU. Its reduced precision is emulated exactly: values rounded to fp16
// where a GPU engine stores fp16, int8/fp8 quantize-dequantize with the calibrated scales where
// a GPU engine computes in int8/fp8.

#include "engine/backend.h"

namespace kiln::engine {

const Backend& CpuBackend();

}  // namespace kiln::engine
