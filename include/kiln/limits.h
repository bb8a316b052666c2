#pragma once
// Limits on what a model may make kiln allocate.

#include <cstdint>

namespace kiln {

// The largest tensor kiln allocates, in bytes: the machine's physical memory, or
// KILN_MAX_TENSOR_BYTES where the environment sets it (raise it past the host's memory, or lower it
// to refuse big models early). Sizes that a model file claims are checked against it, and against
// the file, before anything is allocated; a bigger tensor is an error that gives its size.
uint64_t MaxTensorBytes();

}  // namespace kiln
