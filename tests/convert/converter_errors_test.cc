// Bad input to the converter: parameters, calibration data, converted models, engine files.
#include "convert/convert_test_util.h"
#include "engine/engine_file.h"

namespace kiln {
namespace {

using testing::Mnist;
using testing::MnistModel;

std::string CreateError(const ConversionParams& params) {
  auto c = Converter::Create(MnistModel(), params);
  return c.ok() ? "" : c.status().ToString();
}

TEST(ConverterErrors, ParametersAreChecked) {
  ConversionParams p;
  p.maximum_cached_engines = 0;
  EXPECT_NE(CreateError(p).find("maximum_cached_engines is 0; it must be at least 1"), std::string::npos);
  p = {};
  p.minimum_segment_size = 0;
  EXPECT_NE(CreateError(p).find("minimum_segment_size is 0"), std::string::npos);
  p = {};
  p.max_workspace_size_bytes = -5;
  EXPECT_NE(CreateError(p).find("max_workspace_size_bytes is -5"), std::string::npos);
  p = {};
  p.denylist = {"Conv2D", "NoSuchOp"};
  EXPECT_NE(CreateError(p).find("the denylist names op 'NoSuchOp', which kiln does not know"), std::string::npos);
  p = {};
  p.smoothing_alpha = 1.5f;
  EXPECT_NE(CreateError(p).find("smoothing_alpha is 1.500000; it must be in [0, 1]"), std::string::npos)
      << CreateError(p);
  p = {};
  p.engine_device = Device::CUDA(CudaDeviceCount());  // a GPU this machine does not have
  EXPECT_NE(CreateError(p).find("engine_device: cannot use cuda:"), std::string::npos) << CreateError(p);
  EXPECT_FALSE(ParsePrecision("int4").ok());
  EXPECT_FALSE(ParseProfileStrategy("best").ok());
  EXPECT_FALSE(ParseCalibrator("kl").ok());
}

TEST(ConverterErrors, StepsMustComeInOrder) {
  KILN_ASSERT_OK_AND_ASSIGN(auto c, Converter::Create(MnistModel(), ConversionParams{}));
  EXPECT_NE(c->Build(InputsFrom({})).ToString().find("Build() needs Convert() first"), std::string::npos);
  EXPECT_NE(c->Save("/tmp/never").ToString().find("Save() needs Convert() first"), std::string::npos);
  KILN_ASSERT_OK(c->Convert());
  EXPECT_NE(c->Convert().ToString().find("already called"), std::string::npos);
  EXPECT_NE(c->Build(InputsFrom({})).ToString().find("the build inputs are empty"), std::string::npos);
}

TEST(ConverterErrors, ConvertingAConvertedModelIsRefused) {
  testing::TempDir tmp("twice");
  KILN_ASSERT_OK_AND_ASSIGN(auto c, Converter::Create(MnistModel(), ConversionParams{}));
  KILN_ASSERT_OK(c->Convert());
  KILN_ASSERT_OK(c->Save(tmp.path("m")));
  auto again = Converter::Create(tmp.path("m"), ConversionParams{});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("was already converted by kiln (it holds 1 KilnEngineOp node(s)); convert "
                                          "the original model instead"),
            std::string::npos)
      << again.status().ToString();
}

TEST(ConverterErrors, Int8NeedsCalibrationData) {
  ConversionParams p;
  p.precision_mode = Precision::kINT8;
  KILN_ASSERT_OK_AND_ASSIGN(auto c, Converter::Create(MnistModel(), p));
  const Status s = c->Convert();
  EXPECT_NE(s.message().find("int8 conversion calibrates activation ranges: give calibration inputs"),
            std::string::npos)
      << s.ToString();
}

TEST(ConverterErrors, CalibrationDataMustMatchTheModel) {
  ConversionParams p;
  p.precision_mode = Precision::kINT8;
  auto convert_with = [&](std::vector<InputSet> sets) {
    auto c = Converter::Create(MnistModel(), p).value();
    return c->Convert(InputsFrom(std::move(sets))).ToString();
  };
  const Tensor good = testing::Rows(Mnist().images, 0, 4);
  auto flat = good.Reshaped({4, 28, 28}).value();
  std::string e = convert_with({{{"input_1", good}}, {{"input_1", flat}}});
  EXPECT_NE(e.find("calibration input set 2: input 'input_1' expects float32 [?,28,28,1], got float32 [4,28,28]"),
            std::string::npos)
      << e;
  e = convert_with({{{"images", good}}});
  EXPECT_NE(e.find("calibration input set 1 lacks input 'input_1'; the model takes 'input_1'"), std::string::npos) << e;
  e = convert_with({{{"input_1", good}, {"extra", good}}});
  EXPECT_NE(e.find("has input 'extra', which the model does not take"), std::string::npos) << e;
  e = convert_with({});
  EXPECT_NE(e.find("the calibration inputs are empty"), std::string::npos) << e;
  Tensor ints(DType::kInt32, {4, 28, 28, 1});
  e = convert_with({{{"input_1", ints}}});
  EXPECT_NE(e.find("expects float32 [?,28,28,1], got int32"), std::string::npos) << e;
}

TEST(ConverterErrors, SummaryOfAModelThatIsNotConverted) {
  auto s = SummarizeConvertedModel(MnistModel());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("is not a model converted by kiln"), std::string::npos);
  EXPECT_FALSE(BuildEngines(MnistModel(), InputsFrom({})).ok());
}

TEST(EngineFileFormat, RoundTripAndEveryDamageIsReported) {
  engine::DeviceInfo dev{"cpu", "x86_64 CPU", "", {{"openblas", "OpenBLAS 0.3"}}};
  engine::ShapeProfile range;
  range.inputs.push_back({{1, 28}, {8, 28}, {8, 28}});
  const engine::EngineHeader h = engine::MakeEngineHeader(dev, Precision::kFP16, "KilnEngineOp_3",
                                                          {range, engine::ShapeProfile::Exact({{2, 28}})});
  const std::string bytes = engine::WriteEngineFile(h, "payload bytes");
  KILN_ASSERT_OK_AND_ASSIGN(engine::EngineFile f, engine::ParseEngineFile(bytes));
  EXPECT_EQ(f.payload, "payload bytes");
  EXPECT_EQ(f.header.segment, "KilnEngineOp_3");
  EXPECT_EQ(f.header.precision, "fp16");
  ASSERT_EQ(f.header.profiles.size(), 2u);
  EXPECT_EQ(f.header.profiles[0].ToString(), "[1..8,28] opt [8,28]");
  EXPECT_TRUE(f.header.profiles[0].Accepts({{5, 28}}));
  EXPECT_FALSE(f.header.profiles[0].Accepts({{9, 28}}));
  EXPECT_EQ(engine::Incompatibility(f.header, dev), "");

  auto error = [](const std::string& b) {
    auto r = engine::ParseEngineFile(b);
    return r.ok() ? std::string("parsed") : r.status().message();
  };
  EXPECT_EQ(error(""), "not a kiln engine file (bad magic)");
  EXPECT_NE(error(bytes.substr(0, 12)).find("truncated"), std::string::npos);
  EXPECT_NE(error(bytes.substr(0, bytes.size() - 1)).find("truncated"), std::string::npos);
  EXPECT_NE(error(bytes + "x").find("trailing bytes"), std::string::npos);
  for (size_t at : {size_t{20}, bytes.size() / 2, bytes.size() - 6}) {
    std::string damaged = bytes;
    damaged[at] ^= 1;
    EXPECT_NE(error(damaged).find("checksum"), std::string::npos) << "byte " << at;
  }
  std::string future = bytes;
  future[8] = 9;
  EXPECT_NE(error(future).find("format version 9 is not the version this kiln reads (1)"), std::string::npos);
  std::string huge = bytes;
  huge[19] = 0x7f;  // header length far past the end
  EXPECT_NE(error(huge).find("truncated"), std::string::npos);
}

// An engine file whose header is well framed and checksummed but holds numbers of the wrong kind
// (a profile dim of 1e84, found by engine_file_fuzz: converting it to int64 was undefined) is an
// error that says what is wrong.
TEST(EngineFileFormat, HeaderNumbersOfTheWrongKindAreReported) {
  const engine::DeviceInfo dev{"cpu", "x86_64 CPU", "", {}};
  const std::string good = engine::WriteEngineFile(
      engine::MakeEngineHeader(dev, Precision::kFP32, "KilnEngineOp_0", {engine::ShapeProfile::Exact({{8, 28}})}),
      "payload");
  const uint64_t header_len = static_cast<unsigned char>(good[12]) | static_cast<unsigned char>(good[13]) << 8;
  const std::string header = good.substr(20, header_len);
  ASSERT_NE(header.find("[8,28]"), std::string::npos) << header;
  auto reframed = [&](const std::string& h) {
    return engine::FrameEngineFile(h, good.substr(28 + header_len, good.size() - 32 - header_len));
  };
  KILN_ASSERT_OK(engine::ParseEngineFile(reframed(header)).status());
  for (const std::string& dims : {"[1e84,28]", "[8.5,28]", "[\"8\",28]", "[18446744073709551615,28]"}) {
    std::string bad = header;
    bad.replace(bad.find("[8,28]"), 6, dims);
    auto r = engine::ParseEngineFile(reframed(bad));
    ASSERT_FALSE(r.ok()) << dims;
    EXPECT_NE(r.status().message().find("engine file header is malformed"), std::string::npos) << r.status().ToString();
  }
}

}  // namespace
}  // namespace kiln
