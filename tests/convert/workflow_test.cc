// The converter's whole workflow on the shipped MNIST model, in every precision: convert,
// calibrate, build, save, load, run; the converted outputs against the native model's.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "calibrate/table.h"
#include "convert/convert_test_util.h"
#include "convert/record.h"
#include "engine/engine_op.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistBatches;
using testing::MnistModel;

struct PrecisionCase {
  Precision precision;
  double max_abs_diff;   // probabilities, against the native model
  double min_agreement;  // top-1 agreement with the native (FP32) model on 360 held-out digits
};

class MnistWorkflowTest : public ::testing::TestWithParam<PrecisionCase> {};

TEST_P(MnistWorkflowTest, ConvertedModelAgreesWithNative) {
  const PrecisionCase& c = GetParam();
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, testing::RunSingle(*native, "input_1", Mnist().images));

  testing::TempDir tmp("workflow");
  ConversionParams params;
  params.precision_mode = c.precision;
  // Calibration on the first 128 digits in batches of 32; engines built ahead for batch 360.
  KILN_ASSERT_OK_AND_ASSIGN(
      auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("model"),
                                               InputsFrom(MnistBatches(128, 32)), InputsFrom(MnistBatches(360, 360))));
  testing::WarningCapture warnings;
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "input_1", Mnist().images));

  const double diff = testing::MaxAbsDiff(got, expected);
  const double agreement = testing::Top1Agreement(got, expected);
  EXPECT_LE(diff, c.max_abs_diff) << PrecisionName(c.precision);
  EXPECT_GE(agreement, c.min_agreement) << PrecisionName(c.precision);
  if (c.precision != Precision::kFP32) EXPECT_GT(diff, 0.0) << "reduced precision should change the numbers";

  // The saved engine served the call: no build, no fallback, no warning.
  testing::ExpectOneCallBySavedEngine(*converted, warnings);

  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("model")));
  EXPECT_EQ(summary.precision, PrecisionName(c.precision));
  ASSERT_EQ(summary.engines.size(), 1u);
  EXPECT_EQ(summary.converted_ops, summary.total_ops);
  EXPECT_TRUE(summary.native_nodes.empty());
  ASSERT_EQ(summary.engines[0].engines.size(), 1u);
  EXPECT_EQ(summary.engines[0].engines[0], "[360,28,28,1]");
  // The engine runs fused layers, not the segment's op-by-op graph.
  EXPECT_GT(summary.engines[0].engine_op_counts.count("KilnFusedConv2D"), 0u) << summary.ToString();
  EXPECT_EQ(summary.engines[0].engine_op_counts.count("BiasAdd"), 0u) << summary.ToString();
  const bool calibrated = c.precision == Precision::kINT8 || c.precision == Precision::kFP8;
  EXPECT_EQ(std::filesystem::exists(tmp.path("model/assets/kiln/calibration.json")), calibrated);
  if (calibrated) {
    // Every conv/matmul layer got a calibrated range: none was left in fp16 (the note comes from
    // the engine file's header).
    const std::string text = summary.ToString();
    EXPECT_NE(
        text.find("KilnEngineOp_0: 4 conv/matmul layer(s) computed in " + std::string(PrecisionName(c.precision))),
        std::string::npos)
        << text;
    EXPECT_EQ(text.find("left in fp16"), std::string::npos) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, MnistWorkflowTest,
                         ::testing::Values(PrecisionCase{Precision::kFP32, 1e-5, 1.0},
                                           PrecisionCase{Precision::kFP16, 5e-3, 0.99},
                                           PrecisionCase{Precision::kBF16, 4e-2, 0.99},
                                           PrecisionCase{Precision::kINT8, 0.1, 0.98},
                                           PrecisionCase{Precision::kFP8, 0.15, 0.98}),
                         [](const auto& info) { return std::string(PrecisionName(info.param.precision)); });

// One converted model, run by four threads at once, answers each as it answers one caller.
TEST(ConverterWorkflow, ThreadsShareOneConvertedModel) {
  testing::TempDir tmp("threads");
  ConversionParams params;
  params.precision_mode = Precision::kFP16;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor want, testing::RunSingle(*converted, "input_1", Mnist().images));
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2; ++i) {
        auto got = testing::RunSingle(*converted, "input_1", Mnist().images);
        if (!got.ok()) {
          failures[t] = got.status().ToString();
        } else if (!testing::TensorsNear(*got, want, 0, 0)) {
          failures[t] = "run " + std::to_string(i) + " differs";
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;
  EXPECT_GE(converted->engine_stats().at(0).engine_runs, 9);
}

TEST(ConverterWorkflow, EachCalibratorGivesAWorkingInt8Model) {
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, testing::RunSingle(*native, "input_1", Mnist().images));
  for (CalibratorKind kind : {CalibratorKind::kEntropy, CalibratorKind::kPercentile, CalibratorKind::kMinMax}) {
    testing::TempDir tmp("calibrators");
    ConversionParams params;
    params.precision_mode = Precision::kINT8;
    params.calibrator = kind;
    KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"),
                                                                       InputsFrom(MnistBatches(128, 64))));
    KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "input_1", Mnist().images));
    EXPECT_GE(testing::Top1Agreement(got, expected), 0.98) << CalibratorName(kind);
  }
}

TEST(ConverterWorkflow, TensorFlowParsesTheConvertedSavedModel) {
  std::string tool;
  for (const char* candidate : {"saved_model_cli", "/usr/local/bin/saved_model_cli"}) {
    if (std::system((std::string("command -v ") + candidate + " >/dev/null 2>&1").c_str()) == 0) tool = candidate;
  }
  if (tool.empty()) GTEST_SKIP() << "TensorFlow's saved_model_cli is not installed (pip install tensorflow-cpu)";
  testing::TempDir tmp("tfcli");
  ConversionParams params;
  params.precision_mode = Precision::kFP16;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m")));
  const std::string cmd = tool + " show --dir " + tmp.path("m") + " --all 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ASSERT_EQ(pclose(pipe), 0) << out;
  for (const char* want : {"signature_def['serving_default']", "inputs['input_1']", "shape: (-1, 28, 28, 1)",
                           "outputs['probabilities']", "shape: (-1, 10)", "KilnEngineOp_0:0"}) {
    EXPECT_NE(out.find(want), std::string::npos) << "missing '" << want << "' in:\n" << out;
  }
}

TEST(ConverterWorkflow, OnnxModelsConvertToo) {
  const std::string dir = testing::FixturePath("onnx_small_cnn");
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs, io::ReadNpz(dir + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(auto outputs, io::ReadNpz(dir + "/outputs.npz"));
  ASSERT_EQ(inputs.size(), 1u);
  ASSERT_EQ(outputs.size(), 1u);
  testing::TempDir tmp("onnx");
  ConversionParams params;
  params.precision_mode = Precision::kFP16;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(dir + "/model.onnx", params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, converted->Run({{inputs[0].first, inputs[0].second}}));
  ASSERT_EQ(got.count(outputs[0].first), 1u);
  EXPECT_TRUE(testing::TensorsNear(got.at(outputs[0].first), outputs[0].second, 2e-2, 2e-2));
  EXPECT_GE(converted->engine_stats().size(), 1u);
}

TEST(ConverterWorkflow, ExplicitQuantizationNeedsNoCalibration) {
  const std::string dir = testing::FixturePath("converter_fakequant");
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs, io::ReadNpz(dir + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(auto outputs, io::ReadNpz(dir + "/outputs.npz"));
  testing::TempDir tmp("fakequant");
  ConversionParams params;
  params.precision_mode = Precision::kINT8;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(dir + "/saved_model", params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "images", inputs[0].second));
  // TensorFlow's own FakeQuant result, with fp16 storage between the quantized layers.
  EXPECT_TRUE(testing::TensorsNear(got, outputs[0].second, 2e-2, 2e-2));
  KILN_ASSERT_OK_AND_ASSIGN(ConversionSummary summary, SummarizeConvertedModel(tmp.path("m")));
  EXPECT_FALSE(std::filesystem::exists(tmp.path("m/assets/kiln/calibration.json")));
  bool noted = false;
  for (const auto& n : summary.notes) noted |= n.find("quantizes explicitly") != std::string::npos;
  EXPECT_TRUE(noted) << summary.ToString();
}

TEST(ConverterWorkflow, OnnxQdqModelsConvertToInt8WithoutCalibration) {
  const std::string dir = testing::FixturePath("onnx_qdq_cnn");
  KILN_ASSERT_OK_AND_ASSIGN(auto inputs, io::ReadNpz(dir + "/inputs.npz"));
  KILN_ASSERT_OK_AND_ASSIGN(auto outputs, io::ReadNpz(dir + "/outputs.npz"));
  testing::TempDir tmp("qdq");
  ConversionParams params;
  params.precision_mode = Precision::kINT8;
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(dir + "/model.onnx", params, tmp.path("m")));
  KILN_ASSERT_OK_AND_ASSIGN(auto got, converted->Run({{inputs[0].first, inputs[0].second}}));
  // onnxruntime's answer; the fixture's own tolerance is one quantization step of the output.
  EXPECT_TRUE(testing::TensorsNear(got.at(outputs[0].first), outputs[0].second, 3e-2, 2e-2));
  EXPECT_EQ(converted->engine_stats()[0].native_runs, 0);
}

// A model converted from ONNX keeps its symbolic dims: the converted signature names them as the
// original does, and inputs that disagree on one are refused as the original refuses them.
TEST(ConverterWorkflow, OnnxSymbolicDimsSurviveConversion) {
  const std::string source = testing::FixturePath("onnx_bert_encoder") + "/model.onnx";
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(source));
  testing::TempDir tmp("dims");
  KILN_ASSERT_OK_AND_ASSIGN(auto converted, testing::ConvertSaveLoad(source, {}, tmp.path("m")));
  std::map<std::string, std::vector<std::string>> want, got;
  for (const TensorSpec& spec : native->signature().inputs) want[spec.name] = spec.dim_names;
  for (const TensorSpec& spec : converted->signature().inputs) got[spec.name] = spec.dim_names;
  EXPECT_EQ(got, want);
  EXPECT_EQ(got["input_ids"], (std::vector<std::string>{"batch", "seq"}));

  auto bad = converted->Run({{"input_ids", Tensor(DType::kInt64, {2, 8})},
                             {"attention_mask", Tensor(DType::kInt64, {2, 9})}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("symbolic dimension 'seq'"), std::string::npos) << bad.status().ToString();
}

// The permission to use TF32 is part of the conversion: recorded, on every engine op (which passes
// it to the engines it builds), and off unless asked for.
TEST(ConverterWorkflow, Tf32PermissionTravelsWithTheModel) {
  for (bool allow : {false, true}) {
    SCOPED_TRACE(allow);
    testing::TempDir tmp("tf32");
    ConversionParams params;
    params.allow_tf32 = allow;
    KILN_ASSERT_OK(testing::ConvertSaveLoad(testing::MnistModel(), params, tmp.path("m")).status());
    KILN_ASSERT_OK_AND_ASSIGN(convert::ConversionRecord record,
                              convert::ReadConversionRecord(tmp.path("m/assets/kiln/conversion.json")));
    EXPECT_EQ(record.params.allow_tf32, allow);
    engine::EngineOpSpec spec;
    spec.allow_tf32 = allow;
    ir::Node node;
    node.name = "KilnEngineOp_0";
    node.attrs = spec.ToAttrs();
    KILN_ASSERT_OK_AND_ASSIGN(engine::EngineOpSpec back, engine::EngineOpSpec::FromNode(node));
    EXPECT_EQ(back.allow_tf32, allow);
  }
}

// The share of held-out digits a model's probabilities classify as labelled.
double HeldOutAccuracy(const Tensor& probabilities) {
  const Tensor& labels = Mnist().labels;
  const int64_t rows = probabilities.dim(0), classes = probabilities.dim(1);
  int64_t right = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = probabilities.data<float>() + r * classes;
    right += std::max_element(p, p + classes) - p == labels.data<int64_t>()[r];
  }
  return 100.0 * static_cast<double>(right) / static_cast<double>(rows);
}

// INT8 and FP8 keep the held-out accuracy within half a point of FP32, calibrated on the fixture's
// own calibration digits (not the held-out ones).
TEST(MnistAccuracy, Int8AndFp8StayWithinHalfAPointOfFp32) {
  KILN_ASSERT_OK_AND_ASSIGN(io::NamedTensors calibration,
                            io::ReadNpz(testing::SourcePath("fixtures/mnist/calibration.npz")));
  ASSERT_EQ(calibration.size(), 1u);
  const Tensor& digits = calibration.begin()->second;
  std::vector<InputSet> sets;
  for (int64_t start = 0; start + 32 <= digits.dim(0); start += 32) {
    sets.push_back({{"input_1", testing::Rows(digits, start, 32)}});
  }
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  KILN_ASSERT_OK_AND_ASSIGN(Tensor fp32, testing::RunSingle(*native, "input_1", Mnist().images));
  const double baseline = HeldOutAccuracy(fp32);
  for (Precision precision : {Precision::kINT8, Precision::kFP8}) {
    SCOPED_TRACE(PrecisionName(precision));
    testing::TempDir tmp("accuracy");
    ConversionParams params;
    params.precision_mode = precision;
    KILN_ASSERT_OK_AND_ASSIGN(auto model,
                              testing::ConvertSaveLoad(MnistModel(), params, tmp.path("m"), InputsFrom(sets)));
    KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*model, "input_1", Mnist().images));
    const double accuracy = HeldOutAccuracy(got);
    std::printf("%s: held-out accuracy %.2f%% (fp32 %.2f%%)\n", PrecisionName(precision), accuracy, baseline);
    EXPECT_GE(accuracy, baseline - 0.5);
  }
}

// INT8 smoothing is recorded with the conversion (unset: chosen per layer) and its choices are in
// the calibration table, by which engines built later (here, at load) smooth the same way.
TEST(ConverterWorkflow, Int8SmoothingTravelsWithTheModel) {
  for (std::optional<float> alpha : {std::optional<float>(), std::optional<float>(0.6f), std::optional<float>(0.0f)}) {
    SCOPED_TRACE(alpha ? std::to_string(*alpha) : "auto");
    testing::TempDir tmp("smoothing");
    ConversionParams params;
    params.precision_mode = Precision::kINT8;
    params.smoothing_alpha = alpha;
    const InputSet batch = {{"input_1", Mnist().images}};
    KILN_ASSERT_OK_AND_ASSIGN(
        auto model, testing::ConvertSaveLoad(testing::MnistModel(), params, tmp.path("m"), InputsFrom({batch})));
    KILN_ASSERT_OK_AND_ASSIGN(convert::ConversionRecord record,
                              convert::ReadConversionRecord(tmp.path("m/assets/kiln/conversion.json")));
    EXPECT_EQ(record.params.smoothing_alpha, alpha);
    KILN_ASSERT_OK_AND_ASSIGN(calibrate::CalibrationTable table,
                              calibrate::ReadCalibrationTable(tmp.path("m/assets/kiln/calibration.json")));
    if (alpha == 0.0f) {
      EXPECT_TRUE(table.smoothing.empty());
    } else if (alpha) {
      // MNIST's two dense layers read their activations along the last axis.
      ASSERT_EQ(table.smoothing.size(), 2u);
      for (const auto& [name, sm] : table.smoothing) EXPECT_EQ(sm.alpha, *alpha) << name;
    }
    for (const auto& [name, sm] : table.smoothing) EXPECT_TRUE(table.amax.count(name)) << name;
    KILN_ASSERT_OK(testing::RunSingle(*model, "input_1", Mnist().images).status());
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// Weights past SaveOptions::min_variable_bytes are saved in variables/ and read back through
// variables, in the segments' native functions and in the graph's native ops alike; the answers are
// the native model's, bit for bit, wherever the weights were kept.
TEST(ConverterWorkflow, WeightsInVariablesGiveTheSameAnswers) {
  namespace fs = std::filesystem;
  KILN_ASSERT_OK_AND_ASSIGN(auto native, Model::Load(MnistModel()));
  const Tensor images = testing::Rows(Mnist().images, 0, 32);
  KILN_ASSERT_OK_AND_ASSIGN(Tensor expected, testing::RunSingle(*native, "input_1", images));
  testing::TempDir tmp("variables");
  for (int min_segment : {3, 1000}) {  // one engine segment; none, every op native
    for (size_t min_bytes : {size_t{0}, size_t{1024}, SIZE_MAX}) {
      SCOPED_TRACE("minimum_segment_size " + std::to_string(min_segment) + ", min_variable_bytes " +
                   std::to_string(min_bytes));
      ConversionParams params;
      params.minimum_segment_size = min_segment;
      KILN_ASSERT_OK_AND_ASSIGN(auto converter, Converter::Create(MnistModel(), params));
      KILN_ASSERT_OK(converter->Convert());
      const std::string dir = tmp.path("m" + std::to_string(min_segment) + "_" + std::to_string(min_bytes != 0));
      fs::remove_all(dir);
      SaveOptions save;
      save.min_variable_bytes = min_bytes;
      KILN_ASSERT_OK(converter->Save(dir, save));
      EXPECT_EQ(fs::exists(dir + "/variables/variables.index"), min_bytes != SIZE_MAX);
      for (bool use_engines : {true, false}) {
        LoadOptions load;
        load.use_engines = use_engines;
        KILN_ASSERT_OK_AND_ASSIGN(auto converted, Model::Load(dir, load));
        KILN_ASSERT_OK_AND_ASSIGN(Tensor got, testing::RunSingle(*converted, "input_1", images));
        EXPECT_TRUE(testing::TensorsNear(got, expected, min_segment == 3 && use_engines ? 1e-5 : 0, 0));
      }
    }
  }
}

}  // namespace
}  // namespace kiln
