#pragma once
// Arrays between Python and kiln. In: anything the DLPack protocol or the buffer protocol gives
// (NumPy, and PyTorch, CuPy, JAX, TensorFlow tensors), read in place on the host or the GPU. Out:
// NumPy arrays over kiln's host tensors, or DLPack-capable arrays over its device tensors, sharing
// the tensor's memory. Strings travel as ("strings", [bytes, ...], shape) triples, which the Python
// layer makes from and into NumPy object arrays.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <string>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::python {

namespace nb = nanobind;

// A tensor over the memory of array `value` (an ndarray or a strings triple), which must stay alive
// while the tensor is used; `what` names it in errors ("input 'x'"). C-contiguous arrays only.
Tensor BorrowTensor(nb::handle value, const std::string& what);

// Like BorrowTensor, but the tensor owns a host copy of the values: for inputs kiln keeps past the
// call that received them.
Tensor CopyToHostTensor(nb::handle value, const std::string& what);

// Returns tensor `t` to Python: a strings triple, a NumPy array (host tensors unless `dlpack`;
// bfloat16 widened to float32, which NumPy lacks) or a DLPack-capable array. `keep_alive` holds
// objects the tensor's memory may belong to (inputs an output aliases).
nb::object ArrayFromTensor(const Tensor& t, bool dlpack, nb::handle keep_alive = nb::handle());

}  // namespace kiln::python
