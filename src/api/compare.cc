// CompareConvertedModel: a converted model against its segments' original ops (the model before
// conversion, in float32), then each engine layer kept in a higher precision on its own.
#include "kiln/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "api/model_impl.h"
#include "frontends/savedmodel/graph_def_io.h"
#include "passes/fusion.h"
#include "passes/precision.h"

namespace kiln {
namespace {

// A comparison of one tensor, accumulated over input sets.
class Accumulator {
 public:
  void Add(const std::vector<float>& got, const std::vector<float>& want, const Shape& shape) {
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
      const double g = got[i], w = want[i];
      if (std::isnan(g) && std::isnan(w)) continue;  // NaN against NaN agrees
      const double e = std::isnan(g) || std::isnan(w) ? INFINITY : std::fabs(g - w);
      max_abs_ = std::max(max_abs_, e);
      max_want_ = std::max(max_want_, std::fabs(w));
      dot_ += g * w;
      got2_ += g * g;
      want2_ += w * w;
    }
    if (got.size() != want.size()) max_abs_ = INFINITY;
    const int64_t classes = shape.empty() ? 0 : shape.back();
    if (shape.size() < 2 || classes <= 1) {
      classes_ = false;
      return;
    }
    for (size_t row = 0; (row + 1) * classes <= got.size() && (row + 1) * classes <= want.size(); ++row) {
      auto top = [&](const std::vector<float>& v) {
        return std::max_element(v.begin() + row * classes, v.begin() + (row + 1) * classes) - v.begin();
      };
      agree_ += top(got) == top(want);
      ++rows_;
    }
  }

  TensorComparison Result(const std::string& name) const {
    TensorComparison c;
    c.name = name;
    c.max_abs_error = max_abs_;
    c.max_rel_error = max_want_ > 0 ? max_abs_ / max_want_ : max_abs_;
    c.cosine = got2_ > 0 && want2_ > 0 ? dot_ / std::sqrt(got2_ * want2_) : (got2_ == want2_ ? 1.0 : 0.0);
    if (classes_ && rows_ > 0) c.top1_agreement = static_cast<double>(agree_) / static_cast<double>(rows_);
    return c;
  }

 private:
  double max_abs_ = 0, max_want_ = 0, dot_ = 0, got2_ = 0, want2_ = 0;
  int64_t rows_ = 0, agree_ = 0;
  bool classes_ = true;
};

StatusOr<std::vector<float>> HostValues(const Tensor& t) {
  if (IsHostOnly(t.dtype())) return std::vector<float>{};
  KILN_ASSIGN_OR_RETURN(Tensor host, CopyTensor(t, Device::CPU()));
  return host.ToFloatVector();
}

// The model's signature outputs, and with `boundaries` every engine op's outputs too (named
// "<node>:<index>"), for each input set.
StatusOr<std::vector<std::map<std::string, Tensor>>> RunAll(Model::Impl& model, const std::vector<InputSet>& inputs,
                                                            const LoadOptions& load, bool boundaries) {
  if (boundaries) {
    for (int id = 0; id < model.graph.num_nodes(); ++id) {
      const ir::Node& n = model.graph.node(id);
      if (n.op != "KilnEngineOp") continue;
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        model.graph.outputs().push_back({n.name + ":" + std::to_string(i), {id, static_cast<int>(i)}});
      }
    }
    KILN_RETURN_IF_ERROR(model.Prepare(load));
  }
  std::vector<std::map<std::string, Tensor>> results;
  for (const InputSet& set : inputs) {
    KILN_ASSIGN_OR_RETURN(auto outputs, model.Run(set));
    results.push_back(std::move(outputs));
  }
  return results;
}

// Every tensor of `got` against `want`, over all input sets, split into signature outputs and
// engine boundaries.
Status Compare(const std::vector<std::map<std::string, Tensor>>& got,
               const std::vector<std::map<std::string, Tensor>>& want, const SignatureInfo& signature,
               ComparisonReport& report) {
  std::map<std::string, Accumulator> acc;
  for (size_t s = 0; s < got.size(); ++s) {
    for (const auto& [name, t] : got[s]) {
      auto w = want[s].find(name);
      if (w == want[s].end()) continue;
      KILN_ASSIGN_OR_RETURN(std::vector<float> g, HostValues(t));
      KILN_ASSIGN_OR_RETURN(std::vector<float> v, HostValues(w->second));
      acc[name].Add(g, v, w->second.shape());
    }
  }
  for (const auto& [name, a] : acc) {
    const bool output = std::any_of(signature.outputs.begin(), signature.outputs.end(),
                                    [&name = name](const TensorSpec& t) { return t.name == name; });
    (output ? report.outputs : report.boundaries).push_back(a.Result(name));
    if (output) report.max_abs_error = std::max(report.max_abs_error, report.outputs.back().max_abs_error);
  }
  return OkStatus();
}

// The outputs' largest error of `got` against `want`.
StatusOr<double> OutputError(const std::vector<std::map<std::string, Tensor>>& got,
                             const std::vector<std::map<std::string, Tensor>>& want, const SignatureInfo& signature) {
  ComparisonReport r;
  KILN_RETURN_IF_ERROR(Compare(got, want, signature, r));
  return r.max_abs_error;
}

struct Candidate {
  std::string segment, layer, op;
};

// The layers an engine of `precision` would compute below float32, as its compilation fuses them
// (in graph order): quantized convolutions and products in INT8 and FP8 engines, those and the
// attention, normalization, softmax and elementwise layers in FP16 and BF16 ones.
StatusOr<std::vector<Candidate>> CandidateLayers(const Model::Impl& model, Precision precision) {
  const bool quantized = precision == Precision::kINT8 || precision == Precision::kFP8;
  std::vector<Candidate> layers;
  for (const auto& op : model.engine_ops) {
    KILN_ASSIGN_OR_RETURN(auto fn, savedmodel::GraphToFunctionDef(op->native_graph(), "segment"));
    KILN_ASSIGN_OR_RETURN(ir::Graph g, savedmodel::GraphFromFunctionDef(fn));
    KILN_RETURN_IF_ERROR(passes::FuseForEngine(g));
    for (int id = 0; id < g.num_nodes(); ++id) {
      const ir::Node& n = g.node(id);
      const bool reduced = n.op == "KilnAttention" || n.op == "KilnLayerNorm" || n.op == "Softmax" ||
                           n.op == "LogSoftmax" || n.op == "KilnFusedElementwise";
      if (passes::IsQuantizableLayer(n.op) || (!quantized && reduced)) {
        layers.push_back({op->spec().name, n.name, n.op});
      }
    }
  }
  return layers;
}

std::string Format(const char* format, double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Row(const TensorComparison& c) {
  std::string row = "  " + c.name;
  row.resize(std::max<size_t>(row.size() + 2, 34), ' ');
  row += Format("%-12.3g", c.max_abs_error) + Format("%-12.3g", c.max_rel_error) + Format("%-10.6f", c.cosine);
  if (c.top1_agreement) row += Format("%.1f%%", 100.0 * *c.top1_agreement);
  return row + "\n";
}

}  // namespace

std::string ComparisonReport::ToString() const {
  std::string out = "converted (" + precision + " engines on " + device.ToString() +
                    ") against the original ops in fp32, on " + std::to_string(input_sets) + " input set(s)\n";
  const std::string header = "                                  max abs     max rel     cosine    top-1\n";
  out += "\noutputs:\n" + header;
  for (const TensorComparison& c : outputs) out += Row(c);
  if (!boundaries.empty()) {
    out += "\nengine boundaries:\n" + header;
    for (const TensorComparison& c : boundaries) out += Row(c);
  }
  if (!note.empty()) return out + "\n" + note + "\n";
  if (layers.empty()) return out;
  out += "\nlayers kept in higher precision one at a time (the outputs' max abs error, " +
         Format("%.3g", max_abs_error) + " as converted):\n";
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerFinding& f = layers[i];
    out += "  " + std::to_string(i + 1) + ". " + f.layer + " (" + f.op + ", " + f.segment + ") in " +
           PrecisionName(f.pin.precision) + ": " + Format("%.3g", f.max_abs_error) + "\n";
  }
  const LayerFinding& best = layers.front();
  return out + "\nthe layer that loses the most is " + best.layer + "; to keep it in " +
         PrecisionName(best.pin.precision) + ": --keep-precision " + PrecisionPinToString(best.pin) + "\n";
}

StatusOr<ComparisonReport> CompareConvertedModel(const std::string& dir, const std::vector<InputSet>& inputs,
                                                 const CompareOptions& options) {
  if (inputs.empty()) return InvalidArgument("kiln compare needs at least one input set");
  LoadOptions converted_load;
  converted_load.device = options.device;
  LoadOptions original_load = converted_load;
  original_load.use_engines = false;
  KILN_ASSIGN_OR_RETURN(auto converted, api::LoadModel(dir, converted_load));
  if (converted->engine_ops.empty()) {
    return FailedPrecondition("'" + dir + "' is not a model converted by kiln (it has no KilnEngineOp nodes)");
  }
  KILN_ASSIGN_OR_RETURN(auto original, api::LoadModel(dir, original_load));
  KILN_ASSIGN_OR_RETURN(auto got, RunAll(*converted, inputs, converted_load, true));
  KILN_ASSIGN_OR_RETURN(auto want, RunAll(*original, inputs, original_load, true));

  ComparisonReport report;
  const Precision precision = converted->engine_ops.front()->spec().precision;
  report.precision = PrecisionName(precision);
  report.device = options.device;
  report.input_sets = static_cast<int>(inputs.size());
  KILN_RETURN_IF_ERROR(Compare(got, want, converted->signature, report));
  if (!options.find_layers) return report;
  if (precision == Precision::kFP32) {
    report.note = "the engines compute in fp32: no layer to keep in a higher precision";
    return report;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Candidate> candidates, CandidateLayers(*converted, precision));
  if (static_cast<int>(candidates.size()) > options.max_layers) candidates.resize(std::max(0, options.max_layers));
  const Precision higher =
      precision == Precision::kINT8 || precision == Precision::kFP8 ? Precision::kFP16 : Precision::kFP32;
  for (const Candidate& c : candidates) {
    LoadOptions load = converted_load;
    load.keep_precision = {{higher, c.layer}};
    KILN_ASSIGN_OR_RETURN(auto pinned, api::LoadModel(dir, load));
    KILN_ASSIGN_OR_RETURN(auto outputs, RunAll(*pinned, inputs, load, false));
    KILN_ASSIGN_OR_RETURN(double error, OutputError(outputs, want, converted->signature));
    report.layers.push_back({c.segment, c.layer, c.op, load.keep_precision.front(), error});
  }
  std::stable_sort(report.layers.begin(), report.layers.end(),
                   [](const LayerFinding& a, const LayerFinding& b) { return a.max_abs_error < b.max_abs_error; });
  if (report.layers.empty()) report.note = "the engines have no layer below " + std::string(PrecisionName(higher));
  return report;
}

}  // namespace kiln
