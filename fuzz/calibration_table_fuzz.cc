// A calibration table (JSON), as INT8/FP8 conversion reads a user's table.
#include "calibrate/table.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)kiln::calibrate::ReadCalibrationTable(
      kiln::fuzz::WriteScratchFile("calibration.json", kiln::fuzz::AsView(data, size)));
  return 0;
}
