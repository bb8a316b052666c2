#include "status.h"

#include <nanobind/stl/string.h>

namespace kiln::python {

namespace nb = nanobind;

void ThrowStatus(const Status& status) {
  nb::object make = nb::module_::import_("kiln._errors").attr("status_error");
  nb::object error = make(StatusCodeName(status.code()), status.ToString(), status.message(), status.node(),
                          status.op(), status.file());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw nb::python_error();
}

}  // namespace kiln::python
