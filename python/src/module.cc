// _kiln: kiln's C++ API for the Python package (python/kiln), which wraps it in the public classes.
// Calls that convert, build or run release the GIL; errors arrive as kiln._errors exceptions.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#ifdef KILN_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "bindings.h"
#include "kiln/device.h"
#include "status.h"

namespace kiln::python {
namespace {

// Waits until the work queued on device `index`'s legacy default stream is done: where a DLPack
// producer ordered the writes of the arrays it handed over (they are then safe to read on any
// stream).
void WaitForDefaultStream(int index) {
#ifdef KILN_HAVE_CUDA
  Check(CheckDeviceUsable(Device::CUDA(index)));
  cudaError_t e;
  {
    nb::gil_scoped_release release;
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(index);
    e = cudaStreamSynchronize(cudaStreamLegacy);
    cudaSetDevice(previous);
  }
  if (e != cudaSuccess) {
    ThrowStatus(Internal("waiting for the default stream of cuda:" + std::to_string(index) + ": " +
                         cudaGetErrorString(e)));
  }
#else
  ThrowStatus(FailedPrecondition("kiln was built without CUDA, so there is no cuda:" + std::to_string(index)));
#endif
}

}  // namespace
}  // namespace kiln::python

NB_MODULE(_kiln, m) {
  using namespace kiln::python;
  m.doc() = "kiln's C++ API; use the kiln package, which wraps it.";
  m.attr("__version__") = KILN_VERSION;
  m.def("cuda_device_count", &kiln::CudaDeviceCount, "The CUDA GPUs kiln can use (0 without CUDA).");
  m.def("wait_for_default_stream", &WaitForDefaultStream, nb::arg("device"));
  BindModel(m);
  BindConverter(m);
  BindCompare(m);
}
