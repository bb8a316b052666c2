// A converted model's conversion record (JSON), as loading the model reads it.
#include "convert/record.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::convert::ReadConversionRecord(
      kiln::fuzz::WriteScratchFile("record.json", kiln::fuzz::AsView(data, size)));
  return 0;
}
