// A .npy file, as `kiln run`, `compare` and `bench` read inputs.
#include "fuzz_util.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::io::ParseNpy(std::string(kiln::fuzz::AsView(data, size)), "input.npy");
  return 0;
}
