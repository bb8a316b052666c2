// Calibration tables: JSON round trip and an error naming the file (and entry) for each malformed
// case.
#include "calibrate/table.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "util/test_util.h"

namespace kiln {
namespace {

using calibrate::CalibrationTable;

std::string TempPath(const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / ("kiln_calibration_" + name + ".json")).string();
}

std::string WriteText(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

TEST(CalibrationTableTest, RoundTripsExactly) {
  CalibrationTable table;
  table.calibrator = "entropy";
  table.amax = {{"conv1/Relu:0", 1.5f},
                {"input_1:0", 0.1f},
                {"dense/MatMul:0", 3.4028e38f},
                {"zero:0", 0.0f},
                {"tiny:1", 1e-30f}};
  const std::string path = TempPath("round_trip");
  KILN_ASSERT_OK(calibrate::WriteCalibrationTable(table, path));
  KILN_ASSERT_OK_AND_ASSIGN(CalibrationTable back, calibrate::ReadCalibrationTable(path));
  EXPECT_EQ(back.calibrator, "entropy");
  EXPECT_EQ(back.amax, table.amax);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"format\": \"kiln-calibration\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
}

TEST(CalibrationTableTest, RoundTripsSmoothing) {
  CalibrationTable table;
  table.calibrator = "minmax";
  table.amax = {{"ln:0", 9.5f}, {"relu:0", 2.0f}};
  table.smoothing["ln:0"] = {{0.25f, 9.5f, 0.0f}, 0.7f};
  const std::string path = TempPath("smoothing");
  KILN_ASSERT_OK(calibrate::WriteCalibrationTable(table, path));
  KILN_ASSERT_OK_AND_ASSIGN(CalibrationTable back, calibrate::ReadCalibrationTable(path));
  EXPECT_EQ(back.amax, table.amax);
  ASSERT_EQ(back.smoothing.size(), 1u);
  EXPECT_EQ(back.smoothing.at("ln:0").channel_amax, (std::vector<float>{0.25f, 9.5f, 0.0f}));
  EXPECT_EQ(back.smoothing.at("ln:0").alpha, 0.7f);

  table.smoothing["other:0"] = {{1.0f}, 0.5f};
  Status s = calibrate::WriteCalibrationTable(table, TempPath("smoothing_without_amax"));
  EXPECT_NE(s.message().find("tensor 'other:0' is smoothed but has no amax"), std::string::npos) << s.ToString();
  table.smoothing.erase("other:0");
  table.smoothing["ln:0"].alpha = 0;
  s = calibrate::WriteCalibrationTable(table, TempPath("smoothing_alpha_zero"));
  EXPECT_NE(s.message().find("smoothing alpha must be in (0, 1]"), std::string::npos) << s.ToString();
}

TEST(CalibrationTableTest, ReadsAHandWrittenTable) {
  const std::string path = WriteText(
      "hand", R"({"format":"kiln-calibration","version":1,"calibrator":"percentile","tensors":{"x:0":{"amax":2}}})");
  KILN_ASSERT_OK_AND_ASSIGN(CalibrationTable t, calibrate::ReadCalibrationTable(path));
  EXPECT_EQ(t.calibrator, "percentile");
  EXPECT_EQ(t.amax.at("x:0"), 2.0f);
}

TEST(CalibrationTableTest, MalformedFilesNameTheFileAndEntry) {
  const std::string head = R"({"format":"kiln-calibration","version":1,"calibrator":"entropy","tensors":)";
  struct Case {
    std::string name, text, needle;
  };
  const std::vector<Case> cases = {
      {"not_json", "{\"format\": ", "not valid JSON"},
      {"array", "[1, 2]", "not a kiln calibration table"},
      {"other_format", R"({"format":"tensorrt-cache","version":1,"tensors":{}})", "not a kiln calibration table"},
      {"version", R"({"format":"kiln-calibration","version":2,"tensors":{}})", "version 2"},
      {"no_version", R"({"format":"kiln-calibration","tensors":{}})", "version <missing>"},
      {"calibrator", R"({"format":"kiln-calibration","version":1,"calibrator":3,"tensors":{}})", "\"calibrator\""},
      {"tensors", head + "[]}", "\"tensors\" must be an object"},
      {"no_amax", head + R"({"a:0":{}}})", "tensor 'a:0'"},
      {"string_amax", head + R"({"a:0":{"amax":"1.5"}}})", "tensor 'a:0'"},
      {"negative", head + R"({"ok:0":{"amax":1},"neg:0":{"amax":-0.5}}})", "tensor 'neg:0': amax must be finite"},
      {"too_big", head + R"({"big:0":{"amax":1e39}}})", "tensor 'big:0'"},
      {"past_double", head + R"({"huge:0":{"amax":1.9e409460067749}}})", "not valid JSON"},  // found by fuzzing
      {"smoothing_array", head + R"({"a:0":{"amax":1,"smoothing":[0.5]}}})", "tensor 'a:0': \"smoothing\" must be"},
      {"smoothing_alpha", head + R"({"a:0":{"amax":1,"smoothing":{"alpha":1.5,"channel_amax":[1]}}}})",
       "tensor 'a:0': smoothing alpha must be in (0, 1]"},
      {"smoothing_channels", head + R"({"a:0":{"amax":1,"smoothing":{"alpha":0.5,"channel_amax":[1,-2]}}}})",
       "tensor 'a:0': \"channel_amax\" entries must be finite non-negative"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteText(c.name, c.text);
    auto r = calibrate::ReadCalibrationTable(path);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << c.name << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos) << c.name << ": " << r.status().ToString();
  }
  const std::string missing = TempPath("does_not_exist");
  auto r = calibrate::ReadCalibrationTable(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(missing), std::string::npos) << r.status().ToString();
}

TEST(CalibrationTableTest, WriteRejectsNonFiniteAmax) {
  CalibrationTable table{"minmax", {{"a:0", std::numeric_limits<float>::quiet_NaN()}}};
  const Status s = calibrate::WriteCalibrationTable(table, TempPath("nan"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tensor 'a:0'"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace kiln
