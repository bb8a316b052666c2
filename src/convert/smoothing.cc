#include "convert/smoothing.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "kernels/cpu/fake_quant.h"
#include "kernels/cpu/gemm.h"
#include "passes/precision.h"
#include "passes/smoothing.h"

namespace kiln::convert {
namespace {

constexpr float kInt8Max = 127.0f;
// The output channels a layer's error is measured on, at most: evenly spaced, each quantized with
// its own scale exactly as in the engine, so the error per channel is exact and the search's
// products stay small for wide layers.
constexpr int64_t kMaxColumns = 128;

// One layer reading the activation: a sample of its weights' output channels as a [K, n] operand
// (row axis 0), and the max |w| of each of its full rows.
struct Layer {
  passes::SmoothableWeights w;
  int64_t k = 0, n = 0;
  std::vector<float> row_amax;
};

// The layer of `w` (2-D weights) with at most kMaxColumns of its output channels.
Layer SampleColumns(const passes::SmoothableWeights& w) {
  Layer layer;
  layer.row_amax = passes::WeightRowAmax(w.weights, w.row_axis);
  layer.k = w.weights.dim(w.row_axis);
  const int64_t all = w.weights.dim(w.out_axis);
  layer.n = std::min(all, kMaxColumns);
  Tensor sample(DType::kFloat32, {layer.k, layer.n});
  const float* src = w.weights.data<float>();
  for (int64_t c = 0; c < layer.n; ++c) {
    const int64_t column = c * all / layer.n;
    for (int64_t r = 0; r < layer.k; ++r) {
      sample.data<float>()[r * layer.n + c] = w.row_axis == 0 ? src[r * all + column] : src[column * layer.k + r];
    }
  }
  layer.w = {std::move(sample), /*row_axis=*/0, /*out_axis=*/1};
  return layer;
}

// X * W for rows [r, K] and weights `w` laid out as the layer's sample, [K, n].
std::vector<float> Product(const std::vector<float>& x, int64_t r, const Layer& layer, const float* w) {
  std::vector<float> y(static_cast<size_t>(r * layer.n));
  kernels::cpu::nn::Gemm<float>(false, false, r, layer.n, layer.k, x.data(), layer.k, w, layer.n, y.data(), layer.n);
  return y;
}

// Half of the sampled rows, [rows, channels], their per-channel max |x|, and their float32
// products with each layer's weights.
struct Fold {
  std::vector<float> rows, amax;
  int64_t num_rows = 0;
  std::vector<std::vector<float>> products;
};

// Two halves of the sampled rows: by batch parity when the rows come from several batches, else the
// first and second half. Each half's ranges are judged on the other half's rows, as the calibrated
// ranges will be on data they have not seen.
std::array<Fold, 2> SplitRows(const calibrate::ChannelStats& stats, const std::vector<Layer>& layers) {
  const int64_t k = stats.channels(), r = stats.num_rows();
  const std::vector<int>& batch = stats.row_batches();
  const bool by_batch = r > 0 && batch.front() != batch.back();
  std::array<Fold, 2> folds;
  for (Fold& f : folds) f.amax.assign(static_cast<size_t>(k), 0.0f);
  for (int64_t i = 0; i < r; ++i) {
    Fold& f = folds[by_batch ? batch[i] % 2 : (2 * i >= r ? 1 : 0)];
    for (int64_t c = 0; c < k; ++c) {
      const float x = stats.rows()[i * k + c];
      f.rows.push_back(x);
      f.amax[c] = std::max(f.amax[c], std::fabs(x));
    }
    ++f.num_rows;
  }
  for (Fold& f : folds) {
    for (const Layer& layer : layers) {
      f.products.push_back(Product(f.rows, f.num_rows, layer, layer.w.weights.data<float>()));
    }
  }
  return folds;
}

// Sum over `layers` of |X W - q(X) q(W)|^2 / |X W|^2 on the rows of `fold`, the activation
// quantized per channel with `act_scales` (one value: per tensor) and each layer's weights scaled by
// `factors` (empty: none) before per-output-channel quantization and divided by them after.
double QuantizationError(const Fold& fold, const std::vector<Layer>& layers, const std::vector<float>& act_scales,
                         const std::vector<float>& factors) {
  const int64_t k = layers.front().k, r = fold.num_rows;
  std::vector<float> xq(fold.rows.size());
  for (int64_t i = 0; i < r * k; ++i) {
    xq[i] = kernels::cpu::FakeQuantInt8(fold.rows[i], act_scales[act_scales.size() == 1 ? 0 : i % k]);
  }
  double error = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const Layer& layer = layers[l];
    const std::vector<float>& want = fold.products[l];
    // A copy: the layer's weights share their buffer with the graph's constant.
    Tensor scaled =
        factors.empty() ? layer.w.weights.Clone() : passes::ScaleRows(layer.w.weights, layer.w.row_axis, factors);
    const std::vector<float> scales = passes::WeightScales(scaled, layer.w.out_axis, kInt8Max);
    float* w = scaled.data<float>();
    for (int64_t i = 0; i < scaled.num_elements(); ++i) {
      const int64_t out = i % layer.n, row = i / layer.n;
      w[i] = kernels::cpu::FakeQuantInt8(w[i], scales[out]) / (factors.empty() ? 1.0f : factors[row]);
    }
    const std::vector<float> got = Product(xq, r, layer, w);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff += (double{got[i]} - want[i]) * (double{got[i]} - want[i]);
      norm += double{want[i]} * want[i];
    }
    error += norm > 0 ? diff / norm : diff;
  }
  return error;
}

// The error of smoothing with `alpha` (nullopt: none), each fold's ranges judged on the other's rows;
// nullopt when some fold cannot be smoothed with it.
std::optional<double> CrossError(const std::array<Fold, 2>& folds, const std::vector<Layer>& layers,
                                 const std::vector<float>& weight_rows, std::optional<float> alpha) {
  double error = 0;
  for (int f = 0; f < 2; ++f) {
    const Fold& train = folds[f];
    const Fold& test = folds[1 - f];
    if (alpha) {
      const auto sm = passes::ComputeSmoothing(train.amax, weight_rows, *alpha);
      if (!sm) return std::nullopt;
      std::vector<float> scales;
      for (float s : sm->factors) scales.push_back(s * sm->amax / kInt8Max);
      error += QuantizationError(test, layers, scales, sm->factors);
    } else {
      const float amax = *std::max_element(train.amax.begin(), train.amax.end());
      if (!(amax > 0)) return std::nullopt;
      error += QuantizationError(test, layers, {amax / kInt8Max}, {});
    }
  }
  return error;
}

}  // namespace

const std::vector<float>& SmoothingCandidates() {
  static const auto* alphas = new std::vector<float>{0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};
  return *alphas;
}

StatusOr<std::map<std::string, calibrate::ChannelSmoothing>> ChooseSmoothing(
    const ir::Graph& graph, const std::map<std::string, calibrate::ChannelStats>& channels,
    const std::map<std::string, float>& amax, std::optional<float> alpha, const std::vector<PrecisionPin>& pins) {
  std::map<std::string, std::vector<Layer>> readers;  // activation -> its smoothable layers
  for (int id = 0; id < graph.num_nodes(); ++id) {
    const ir::Node& n = graph.node(id);
    if (n.inputs.empty() || passes::PinnedPrecision(n, pins)) continue;
    const std::string act = graph.node(n.inputs[0].node).name + ":" + std::to_string(n.inputs[0].index);
    auto stats = channels.find(act);
    if (stats == channels.end()) continue;
    auto w = passes::SmoothableWeightsOf(graph, n);
    if (!w || w->weights.rank() != 2 || w->weights.dim(w->row_axis) != stats->second.channels()) continue;
    readers[act].push_back(SampleColumns(*w));
  }

  std::map<std::string, calibrate::ChannelSmoothing> chosen;
  for (const auto& [act, layers] : readers) {
    const calibrate::ChannelStats& stats = channels.at(act);
    std::vector<float> rows(static_cast<size_t>(stats.channels()), 0.0f);
    for (const Layer& layer : layers) {
      for (size_t j = 0; j < rows.size(); ++j) rows[j] = std::max(rows[j], layer.row_amax[j]);
    }
    if (alpha) {
      if (passes::ComputeSmoothing(stats.amax(), rows, *alpha)) chosen[act] = {stats.amax(), *alpha};
      continue;
    }
    if (!amax.count(act) || stats.num_rows() < 2) continue;
    const std::array<Fold, 2> folds = SplitRows(stats, layers);
    std::optional<double> best = CrossError(folds, layers, rows, std::nullopt);
    for (float candidate : SmoothingCandidates()) {
      const std::optional<double> error = CrossError(folds, layers, rows, candidate);
      if (error && (!best || *error < *best)) {
        best = error;
        chosen[act] = {stats.amax(), candidate};
      }
    }
  }
  return chosen;
}

}  // namespace kiln::convert
