// An .npz archive (zip, stored or deflated members), as `kiln run`, `compare` and `bench` read inputs.
#include "fuzz_util.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::io::ReadNpz(kiln::fuzz::WriteScratchFile("inputs.npz", kiln::fuzz::AsView(data, size)));
  return 0;
}
