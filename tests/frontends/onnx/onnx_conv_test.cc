// ONNX Conv through kiln's converter against a direct loop over ONNX's definition: grouped and
// depthwise (one group per channel, with a channel multiplier) convolutions with asymmetric
// pads, strides and dilations.
#include <unistd.h>

#include <filesystem>

#include "frontends/onnx/onnx_model_builder.h"
#include "frontends/onnx/onnx_tensor.h"
#include "io/npy.h"
#include "kiln/model.h"
#include "util/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using onnxproto::TensorProto;

struct ConvCase {
  int64_t n, c, h, w, m, group, kh, kw;
  std::vector<int64_t> pads, strides, dilations;  // pads [top, left, bottom, right]
};

// y[b, o, i, j] = bias[o] + sum over the group's channels and the window of x * w.
Tensor ReferenceConv(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvCase& c) {
  const int64_t oh = (c.h + c.pads[0] + c.pads[2] - c.dilations[0] * (c.kh - 1) - 1) / c.strides[0] + 1;
  const int64_t ow = (c.w + c.pads[1] + c.pads[3] - c.dilations[1] * (c.kw - 1) - 1) / c.strides[1] + 1;
  Tensor y(DType::kFloat32, {c.n, c.m, oh, ow});
  const int64_t cg = c.c / c.group, mg = c.m / c.group;
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  float* yp = y.data<float>();
  for (int64_t b = 0; b < c.n; ++b)
    for (int64_t o = 0; o < c.m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias.data<float>()[o];
          const int64_t g = o / mg;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t u = 0; u < c.kh; ++u)
              for (int64_t v = 0; v < c.kw; ++v) {
                const int64_t r = i * c.strides[0] - c.pads[0] + u * c.dilations[0];
                const int64_t s = j * c.strides[1] - c.pads[1] + v * c.dilations[1];
                if (r < 0 || r >= c.h || s < 0 || s >= c.w) continue;
                acc += static_cast<double>(xp[((b * c.c + g * cg + ci) * c.h + r) * c.w + s]) *
                       wp[((o * cg + ci) * c.kh + u) * c.kw + v];
              }
          yp[((b * c.m + o) * oh + i) * ow + j] = static_cast<float>(acc);
        }
  return y;
}

void AddInitializer(onnxproto::GraphProto* g, const std::string& name, const Tensor& t) {
  auto* init = g->add_initializer();
  onnx::TensorToOnnx(t, init);
  init->set_name(name);
}

class OnnxConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(OnnxConvTest, MatchesTheDefinition) {
  const ConvCase& c = GetParam();
  const Tensor x = testing::RandomTensor(DType::kFloat32, {c.n, c.c, c.h, c.w}, 7);
  const Tensor w = testing::RandomTensor(DType::kFloat32, {c.m, c.c / c.group, c.kh, c.kw}, 8);
  const Tensor bias = testing::RandomTensor(DType::kFloat32, {c.m}, 9);

  onnxproto::ModelProto model = testing::MakeModel();
  auto* g = model.mutable_graph();
  testing::AddValue(g->mutable_input(), "x", TensorProto::FLOAT, {std::string("batch"), c.c, c.h, c.w});
  testing::AddValue(g->mutable_output(), "y", TensorProto::FLOAT, {});
  AddInitializer(g, "w", w);
  AddInitializer(g, "b", bias);
  auto* conv = testing::AddNode(g, "Conv", {"x", "w", "b"}, {"y"});
  auto ints = [&](const std::string& name, const std::vector<int64_t>& v) {
    auto* a = conv->add_attribute();
    a->set_name(name);
    a->set_type(onnxproto::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
  };
  ints("pads", c.pads);
  ints("strides", c.strides);
  ints("dilations", c.dilations);
  auto* group = conv->add_attribute();
  group->set_name("group");
  group->set_type(onnxproto::AttributeProto::INT);
  group->set_i(c.group);

  const fs::path path = fs::temp_directory_path() / ("kiln_onnx_conv_" + std::to_string(::getpid()) + ".onnx");
  ASSERT_TRUE(io::WriteFile(path.string(), model.SerializeAsString()).ok());
  KILN_ASSERT_OK_AND_ASSIGN(auto m, Model::Load(path.string()));
  fs::remove(path);
  KILN_ASSERT_OK_AND_ASSIGN(auto out, m->Run({{"x", x}}));
  EXPECT_TRUE(testing::TensorsNear(out.at("y"), ReferenceConv(x, w, bias, c), 1e-4, 1e-4));
}

INSTANTIATE_TEST_SUITE_P(
    Groups, OnnxConvTest,
    ::testing::Values(ConvCase{2, 4, 9, 8, 6, 1, 3, 3, {1, 0, 2, 1}, {2, 1}, {1, 2}},    // dense
                      ConvCase{2, 4, 9, 8, 6, 2, 3, 2, {0, 1, 1, 0}, {1, 2}, {2, 1}},    // two groups
                      ConvCase{2, 5, 9, 8, 5, 5, 3, 3, {1, 1, 1, 1}, {1, 1}, {1, 1}},    // depthwise
                      ConvCase{1, 3, 10, 7, 6, 3, 3, 3, {1, 0, 2, 1}, {2, 1}, {1, 2}},   // depthwise x2
                      ConvCase{3, 4, 6, 6, 4, 4, 1, 1, {0, 0, 0, 0}, {2, 2}, {1, 1}}));  // 1x1 depthwise

}  // namespace
}  // namespace kiln
