// Models with control flow and recurrent layers through the converter: If, Loop, Scan and the
// recurrent layers stay native (bodies with their nodes), the dense parts around them become
// engines, and the saved model (bodies in the SavedModel's function library) loads and gives the
// framework's answers.
#include <filesystem>

#include "convert/convert_test_util.h"

namespace kiln {
namespace {

class ControlFlowConversionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void Check(Precision precision, double atol, double rtol) {
    const std::string dir = testing::FixturePath(GetParam());
    const std::string source = std::filesystem::exists(dir + "/model.onnx") ? dir + "/model.onnx" : dir + "/saved_model";
    KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors inputs, io::ReadNpz(dir + "/inputs.npz"));
    KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors expected, io::ReadNpz(dir + "/outputs.npz"));
    testing::TempDir tmp("control_flow");
    ConversionParams params;
    params.precision_mode = precision;
    KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(source, params, tmp.path("m"), {},
                                                                       {}, true, testing::TestDevice()));
    KILN_ASSERT_OK_AND_ASSIGN(auto got, converted->Run(std::map<std::string, Tensor>(inputs.begin(), inputs.end())));
    for (const auto& [name, want] : expected) {
      ASSERT_EQ(got.count(name), 1u) << name;
      EXPECT_LE(testing::MaxAbsDiff(got.at(name), want), atol + rtol * testing::MaxAbs(want)) << name;
    }
  }
};

TEST_P(ControlFlowConversionTest, Fp32GivesTheFrameworksAnswers) { Check(Precision::kFP32, 1e-5, 1e-5); }
TEST_P(ControlFlowConversionTest, Fp16StaysClose) { Check(Precision::kFP16, 1e-2, 2e-2); }

INSTANTIATE_TEST_SUITE_P(Models, ControlFlowConversionTest,
                         ::testing::Values("onnx_cond", "onnx_scan_rnn", "onnx_loop", "onnx_scan_axes", "onnx_torch_rnn",
                                           "tf_cond", "tf_while", "tf_tensor_arrays", "rnn_cells_keras3",
                                           "rnn_cells_tfkeras", "rnn_stacked_keras3", "rnn_stacked_tfkeras"),
                         [](const auto& info) { return info.param; });

// The ops around the RNN's Scan become an engine; the Scan (a Loop) stays native, with a reason.
TEST(ControlFlowSummaryTest, TheScanStaysNativeAndTheRestBecomesAnEngine) {
  testing::TempDir tmp("control_flow_summary");
  KILN_ASSERT_OK_AND_ASSIGN(auto converter,
                            Converter::Create(testing::FixturePath("onnx_scan_rnn") + "/model.onnx", {}));
  KILN_ASSERT_OK(converter->Convert());
  KILN_ASSERT_OK(converter->Save(tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
  std::string loop_reason;
  for (const auto& node : summary.native_nodes) {
    if (node.op == "Loop") loop_reason = node.reason;
  }
  EXPECT_FALSE(loop_reason.empty()) << summary.ToString();
  EXPECT_EQ(summary.engines.size(), 1u) << summary.ToString();
}

}  // namespace
}  // namespace kiln
