#include "passes/smoothing.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace kiln::passes {
namespace {

// Element i of a tensor of `shape` -> its index along `axis`.
struct AxisIndex {
  AxisIndex(const Shape& shape, int axis) : channels(shape[axis]) {
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  }
  int64_t operator()(int64_t i) const { return (i / inner) % channels; }
  int64_t channels, inner = 1;
};

}  // namespace

bool IsSmoothableProduct(const std::string& op) {
  static const std::set<std::string> kOps = {"MatMul",        "BatchMatMul",     "BatchMatMulV2",
                                             "BatchMatMulV3", "KilnFusedMatMul", "KilnFusedBatchMatMulV2"};
  return kOps.count(op) != 0;
}

std::optional<SmoothableWeights> SmoothableWeightsOf(const ir::Graph& graph, const ir::Node& layer) {
  if (!IsSmoothableProduct(layer.op) || layer.inputs.size() < 2) return std::nullopt;
  const ir::Node& wnode = graph.node(layer.inputs[1].node);
  if (wnode.op != "Const" || graph.output_info(layer.inputs[1]).dtype != DType::kFloat32) return std::nullopt;
  if (graph.output_info(layer.inputs[0]).shape.rank() < 1) return std::nullopt;
  auto w = wnode.attrs.Get<Tensor>("value");
  if (!w.ok() || w->dtype() != DType::kFloat32 || w->rank() < 2) return std::nullopt;
  const int rank = w->rank();
  const bool matmul = layer.op == "MatMul" || layer.op == "KilnFusedMatMul";
  if (matmul && rank != 2) return std::nullopt;
  // MatMul names its transposes transpose_a/b, the BatchMatMuls adj_x/y.
  auto transpose_x = layer.attrs.GetOr<bool>(matmul ? "transpose_a" : "adj_x", false);
  auto transpose_y = layer.attrs.GetOr<bool>(matmul ? "transpose_b" : "adj_y", false);
  if (!transpose_x.ok() || !transpose_y.ok() || *transpose_x) return std::nullopt;
  SmoothableWeights out;
  out.row_axis = *transpose_y ? rank - 1 : rank - 2;
  out.out_axis = *transpose_y ? rank - 2 : rank - 1;
  const int64_t channels = graph.output_info(layer.inputs[0]).shape.dims.back();
  if (channels >= 0 && channels != w->dim(out.row_axis)) return std::nullopt;
  out.weights = std::move(w).value();
  return out;
}

std::vector<float> WeightRowAmax(const Tensor& w, int row_axis) {
  const AxisIndex row(w.shape(), row_axis);
  std::vector<float> rows(static_cast<size_t>(row.channels), 0.0f);
  const float* data = w.data<float>();
  for (int64_t i = 0; i < w.num_elements(); ++i) {
    const float a = std::fabs(data[i]);
    if (std::isfinite(a)) rows[row(i)] = std::max(rows[row(i)], a);
  }
  return rows;
}

std::optional<Smoothing> ComputeSmoothing(const std::vector<float>& channel_amax,
                                          const std::vector<float>& weight_row_amax, float alpha) {
  if (channel_amax.size() != weight_row_amax.size() || channel_amax.empty()) return std::nullopt;
  Smoothing sm;
  for (size_t j = 0; j < channel_amax.size(); ++j) {
    const double a = channel_amax[j], w = weight_row_amax[j];
    const double f = a > 0 && w > 0 ? std::pow(a, double{alpha}) / std::pow(w, 1.0 - alpha) : 1.0;
    sm.factors.push_back(static_cast<float>(std::clamp(f, 1e-6, 1e6)));
    sm.amax = std::max(sm.amax, static_cast<float>(a / sm.factors.back()));
  }
  if (!(sm.amax > 0) || !std::isfinite(sm.amax)) return std::nullopt;
  return sm;
}

Tensor ScaleRows(const Tensor& w, int row_axis, const std::vector<float>& factors) {
  const AxisIndex row(w.shape(), row_axis);
  Tensor scaled(DType::kFloat32, w.shape());
  for (int64_t i = 0; i < w.num_elements(); ++i) scaled.data<float>()[i] = w.data<float>()[i] * factors[row(i)];
  return scaled;
}

}  // namespace kiln::passes
