// PadConvInputChannels: a channels-last fused convolution of few input channels and a short
// reduction (an image's first layer with a small window) reads its input padded with zero channels
// to a multiple that tensor-core convolutions take, its constant filter padded to match; the zeros
// add nothing to any output.
#include <cstring>

#include "ir/op_registry.h"
#include "ir/ops/conv_geometry.h"
#include "passes/fusion_util.h"
#include "passes/layout.h"

namespace kiln::passes {
namespace {

// The longest reduction (window times input channels) padded. On an H100 (2026-12-07), padding
// MNIST's first layer (5x5 window, 1 channel: cuDNN's generic kernel, then an epilogue pass) to 8
// channels took a batch of 512 from 0.174 to 0.155 ms, while padding ResNet-50's (7x7, 3 channels,
// where cuDNN has a first-layer kernel of its own) took a batch of 128 from 4.21 to 6.12 ms.
constexpr int64_t kMaxPaddedReduction = 32;

// The filter [kh, kw, c, out] with zero input channels appended up to `channels`.
Tensor PaddedFilter(const Tensor& filter, int64_t channels) {
  const int64_t taps = filter.dim(0) * filter.dim(1), c = filter.dim(2), out = filter.dim(3);
  Tensor padded(DType::kFloat32, {filter.dim(0), filter.dim(1), channels, out});
  std::memset(padded.raw_data(), 0, padded.byte_size());
  const float* from = filter.data<float>();
  float* to = padded.data<float>();
  for (int64_t t = 0; t < taps; ++t) std::memcpy(to + t * channels * out, from + t * c * out, sizeof(float) * c * out);
  return padded;
}

// Node `n`'s input channels when it is a float32 2-D channels-last fused convolution of one group
// with a constant filter, else 0.
int64_t InputChannels(const ir::Graph& graph, const ir::Node& n) {
  if ((n.op != "KilnFusedConv2D" && n.op != "KilnFusedConv") || n.inputs.size() < 2) return 0;
  const StatusOr<bool> channels_first = ir::ParseChannelsFirst(n.attrs);
  const StatusOr<int64_t> groups = n.attrs.GetOr<int64_t>("groups", 1);
  if (!channels_first.ok() || *channels_first || !groups.ok() || *groups != 1) return 0;
  const ir::OutputInfo& x = graph.output_info(n.inputs[0]);
  const Tensor* filter = fusion::ConstTensor(graph, n.inputs[1]);
  if (x.dtype != DType::kFloat32 || !x.shape.rank_known || x.shape.rank() != 4 || filter == nullptr ||
      filter->dtype() != DType::kFloat32 || filter->rank() != 4 || filter->dim(2) != x.shape.dims[3]) {
    return 0;
  }
  return x.shape.dims[3];
}

}  // namespace

Status PadConvInputChannels(ir::Graph& graph, int64_t multiple) {
  if (multiple <= 1) return OkStatus();
  const int num_nodes = graph.num_nodes();
  bool changed = false;
  for (int id = 0; id < num_nodes; ++id) {
    const int64_t c = InputChannels(graph, graph.node(id));
    if (c <= 0 || c >= multiple) continue;
    const std::string name = graph.node(id).name;
    const Tensor& filter = *fusion::ConstTensor(graph, graph.node(id).inputs[1]);
    if (filter.dim(0) * filter.dim(1) * c > kMaxPaddedReduction) continue;
    const ir::Node* padded_filter = graph.AddConst(graph.UniqueName(name + "/padded_filter"),
                                                   PaddedFilter(filter, multiple));
    const auto more = static_cast<int32_t>(multiple - c);
    const ir::Node* paddings = graph.AddConst(graph.UniqueName(name + "/channel_paddings"),
                                              Tensor::FromVector<int32_t>({4, 2}, {0, 0, 0, 0, 0, 0, 0, more}));
    ir::AttrMap attrs;
    attrs.Set("T", DType::kFloat32);
    attrs.Set("Tpaddings", DType::kInt32);
    const ir::Node* pad = graph.AddNode(graph.UniqueName(name + "/pad_channels"), "Pad",
                                        {graph.node(id).inputs[0], {paddings->id, 0}}, std::move(attrs), 1);
    ir::Node& conv = graph.node(id);
    conv.inputs[0] = {pad->id, 0};
    conv.inputs[1] = {padded_filter->id, 0};
    changed = true;
  }
  if (!changed) return OkStatus();
  graph.RemoveDeadNodes();
  return ir::InferShapes(graph);
}

}  // namespace kiln::passes
