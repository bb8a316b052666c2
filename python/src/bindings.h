#pragma once
// The parts of the _kiln extension module, each binding one area of kiln's C++ API.

#include <nanobind/nanobind.h>

namespace kiln::python {

namespace nb = nanobind;

void BindModel(nb::module_& m);
void BindConverter(nb::module_& m);
void BindCompare(nb::module_& m);

}  // namespace kiln::python
