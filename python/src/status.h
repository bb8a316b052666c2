#pragma once
// kiln's Status as a Python exception: the class kiln._errors keeps for the status code (a
// KilnError that is also a ValueError, FileNotFoundError, RuntimeError... as fits), with the C++
// message unchanged.

#include <nanobind/nanobind.h>

#include "kiln/status.h"

namespace kiln::python {

// Raises `status` (not OK) in Python; call with the GIL held.
[[noreturn]] void ThrowStatus(const Status& status);

inline void Check(const Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

// f(), called with the GIL released: for kiln calls that take time (others may run Python meanwhile).
template <typename F>
auto WithoutGil(F&& f) {
  nanobind::gil_scoped_release release;
  return f();
}

template <typename T>
T Unwrap(StatusOr<T> value) {
  if (!value.ok()) ThrowStatus(value.status());
  return std::move(value).value();
}

}  // namespace kiln::python
