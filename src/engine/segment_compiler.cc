#include "engine/segment_compiler.h"

#include <climits>
#include <cstring>
#include <map>
#include <optional>

#include "frontends/savedmodel/graph_def_io.h"
#include "ir/shape_fns.h"
#include "passes/fusion.h"
#include "passes/layout.h"
#include "passes/passes.h"
#include "passes/precision.h"

namespace kiln::engine {
namespace {

// Ops with a CPU kernel that engines do not take, and why. Everything else with a kernel is claimed.
const std::map<std::string, std::string>& UnclaimedOps() {
  static const auto* ops = new std::map<std::string, std::string>{
      {"Where", "its output shape depends on the input values"},
      {"OnnxTopK", "the engine has no converter for top-k selection"},
      {"Cumsum", "the engine has no converter for cumulative sums"},
      {"Cumprod", "the engine has no converter for cumulative products"},
      {"GatherND", "the engine has no converter for GatherND"},
      {"ScatterND", "the engine has no converter for scatters"},
      {"ScatterElements", "the engine has no converter for scatters"},
      {"EnsureShape", "it checks shapes at run time"},
  };
  return *ops;
}

bool EngineDType(DType d) { return d != DType::kInvalid && !IsHostOnly(d); }

// The shapes every profile admits, per input: known where all profiles agree.
StatusOr<std::vector<PartialShape>> InputEnvelope(const std::vector<ShapeProfile>& profiles, size_t num_inputs) {
  if (profiles.empty()) return InvalidArgument("an engine needs at least one shape profile");
  std::vector<PartialShape> env = profiles[0].Envelope();
  for (const ShapeProfile& p : profiles) {
    if (p.inputs.size() != num_inputs) {
      return InvalidArgument("a shape profile has " + std::to_string(p.inputs.size()) + " inputs, the segment " +
                             std::to_string(num_inputs));
    }
    std::vector<PartialShape> e = p.Envelope();
    for (size_t i = 0; i < num_inputs; ++i) {
      if (e[i].rank() != env[i].rank())
        return InvalidArgument("shape profiles disagree on the rank of input " + std::to_string(i));
      for (size_t d = 0; d < e[i].dims.size(); ++d) {
        if (e[i].dims[d] != env[i].dims[d]) env[i].dims[d] = -1;
      }
    }
  }
  return env;
}

}  // namespace

Status ValidateEngineNode(const ir::Graph& graph, const ir::Node& node, std::string_view backend) {
  const std::string engine = "the " + std::string(backend) + " engine";
  if (node.op == "Placeholder") return FailedPrecondition("graph inputs stay outside engines");
  if (auto it = UnclaimedOps().find(node.op); it != UnclaimedOps().end()) {
    return Unimplemented(engine + " does not take " + node.op + ": " + it->second);
  }
  if (node.op != "Const" && runtime::KernelRegistry::Global().Find(node.op, DeviceType::kCPU) == nullptr) {
    return Unimplemented(engine + " has no converter for " + node.op);
  }
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const ir::OutputInfo& out = node.outputs[i];
    if (!EngineDType(out.dtype)) {
      return Unimplemented("output " + std::to_string(i) + " is " + std::string(DTypeName(out.dtype)) +
                           ", which engines do not carry");
    }
    if (out.shape.rank() < 0) return Unimplemented("the rank of output " + std::to_string(i) + " is unknown");
  }
  for (const ir::ValueRef& in : node.inputs) {
    if (!EngineDType(graph.output_info(in).dtype)) {
      return Unimplemented("an input is " + std::string(DTypeName(graph.output_info(in).dtype)) +
                           ", which engines do not carry");
    }
  }
  return OkStatus();
}

StatusOr<CompiledSegment> CompileSegment(const ir::Graph& segment, const BuildConfig& config,
                                         const CompileOptions& options) {
  KILN_ASSIGN_OR_RETURN(auto fn, savedmodel::GraphToFunctionDef(segment, "segment"));
  KILN_ASSIGN_OR_RETURN(ir::Graph graph, savedmodel::GraphFromFunctionDef(fn));
  KILN_ASSIGN_OR_RETURN(std::vector<PartialShape> env, InputEnvelope(config.profiles, graph.inputs().size()));
  for (size_t i = 0; i < env.size(); ++i) {
    ir::Node& p = graph.node(graph.inputs()[i].value.node);
    p.attrs.Set("shape", env[i]);
    p.outputs[0].shape = env[i];
  }
  KILN_RETURN_IF_ERROR(passes::FuseForEngine(graph));  // infers shapes at the narrowed inputs first
  int channels_last = 0;
  if (options.channels_last) {
    KILN_ASSIGN_OR_RETURN(channels_last, passes::ConvertToChannelsLast(graph));
  }

  passes::PrecisionReport report;
  const bool half = config.precision == Precision::kFP16 || config.precision == Precision::kBF16;
  if (half && options.runs_reduced) {
    KILN_RETURN_IF_ERROR(passes::PadConvInputChannels(graph, options.conv_channel_multiple));
  }
  const bool quantized = config.precision == Precision::kINT8 || config.precision == Precision::kFP8;
  // Whether values are stored in 16 bits rather than rounded to them, and in which type.
  const bool stored_reduced = options.runs_reduced && (half || (quantized && options.quantized_ops));
  const DType storage = config.precision == Precision::kBF16 ? DType::kBFloat16 : DType::kFloat16;
  if (half && stored_reduced) {
    for (int id = 0; id < graph.num_nodes(); ++id) {
      const ir::Node& n = graph.node(id);
      if (n.op == "Const" || n.op == "Placeholder") continue;
      if (std::string pin = passes::DescribePin(n, config.keep_precision); !pin.empty()) {
        report.pinned.push_back(std::move(pin));
      }
    }
  } else {
    passes::PrecisionOptions precision;
    precision.precision = config.precision;
    precision.amax = config.amax;
    precision.smoothing = config.smoothing;
    precision.explicit_quantization = config.explicit_quantization;
    precision.keep_precision = config.keep_precision;
    precision.quantized_ops = quantized && options.quantized_ops;
    precision.round_to_half = !stored_reduced;
    KILN_ASSIGN_OR_RETURN(report, passes::InsertPrecisionEmulation(graph, precision));
  }
  if (stored_reduced) {
    KILN_RETURN_IF_ERROR(passes::StoreInReducedPrecision(graph, storage, [&](const ir::Node& node) {
      return options.runs_reduced(node, storage) &&
             passes::PinnedPrecision(node, config.keep_precision) != Precision::kFP32;
    }));
  }
  // Weights are rounded / quantized once, here, by folding their converters into constants.
  KILN_RETURN_IF_ERROR(passes::FoldConstants(graph));
  graph.RemoveDeadNodes();
  KILN_RETURN_IF_ERROR(ir::InferShapes(graph));

  CompiledSegment out{std::move(graph), {}};
  if (channels_last > 0) {
    out.notes.push_back(std::to_string(channels_last) + " channels-first convolution/pool layer(s) run channels-last");
  }
  if (quantized && !config.explicit_quantization) {
    std::string note = std::to_string(report.quantized_layers) + " conv/matmul layer(s) computed in " +
                       PrecisionName(config.precision);
    if (report.smoothed_layers > 0) {
      note.append(", " + std::to_string(report.smoothed_layers) + " of them with smoothed activations");
    }
    if (report.lowered_layers > 0) {
      note.append("; " + std::to_string(report.lowered_layers) + " matrix product(s) by " +
                  PrecisionName(config.precision) + " kernels, the rest emulated in fp16");
    }
    out.notes.push_back(std::move(note));
  }
  for (const std::string& layer : report.fp16_fallback) out.notes.push_back("left in fp16: " + layer);
  for (const std::string& layer : report.pinned) out.notes.push_back("kept in " + layer);
  return out;
}

Status CheckWorkspace(const runtime::Executor& executor, const BuildConfig& config) {
  if (auto peak = executor.PlannedPeakBytes(); peak && static_cast<int64_t>(*peak) > config.max_workspace_size_bytes) {
    return FailedPrecondition("the engine needs " + std::to_string(*peak) +
                              " bytes of intermediate memory at these shapes, more than max_workspace_size_bytes (" +
                              std::to_string(config.max_workspace_size_bytes) + ")");
  }
  return OkStatus();
}

namespace {
// The function attrs that carry an engine's settings: tactics as "key<TAB>value" strings, and TF32.
constexpr char kTacticsAttr[] = "_kiln_tactics";
constexpr char kTf32Attr[] = "_kiln_allow_tf32";

// A payload whose weights follow its graph, so that an engine's weights are not bound by protobuf's
// 2 GB: this magic, the graph's size (8 bytes, little-endian), the graph (a FunctionDef whose
// constants of kPayloadWeightBytes or more are variables keyed "<offset>+<bytes>" into the
// weights), then the weights. A payload that is a FunctionDef alone has its constants inline.
constexpr std::string_view kWeightsMagic = "KILNWTS1";
constexpr size_t kPayloadWeightBytes = 1024;

// "<offset>+<bytes>" -> {offset, bytes}; nullopt for anything else.
std::optional<std::pair<uint64_t, uint64_t>> ParseWeightKey(const std::string& key) {
  const size_t plus = key.find('+');
  auto number = [](std::string_view digits) -> std::optional<uint64_t> {
    if (digits.empty() || digits.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  };
  if (plus == std::string::npos) return std::nullopt;
  auto offset = number(std::string_view(key).substr(0, plus));
  auto bytes = number(std::string_view(key).substr(plus + 1));
  if (!offset || !bytes) return std::nullopt;
  return std::make_pair(*offset, *bytes);
}

// The weight `key` of `weights` as a tensor of `dtype` and `shape`, checked against both.
StatusOr<Tensor> ReadWeight(std::string_view weights, const std::string& key, DType dtype, const Shape& shape) {
  const auto range = ParseWeightKey(key);
  if (!range || range->first > weights.size() || range->second > weights.size() - range->first) {
    return DataLoss("weight '" + key + "' does not lie within the payload's " + std::to_string(weights.size()) +
                    " bytes of weights");
  }
  const uint64_t element = DTypeSize(dtype);
  uint64_t bytes = element;
  bool overflow = false;
  for (int64_t d : shape) overflow |= d < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes);
  if (dtype == DType::kString || element == 0 || overflow || bytes != range->second) {
    return DataLoss("weight '" + key + "' is not the " + std::to_string(range->second) + " bytes of " +
                    std::string(DTypeName(dtype)) + ShapeToString(shape));
  }
  Tensor t(dtype, shape);
  if (bytes > 0) std::memcpy(t.raw_data(), weights.data() + range->first, bytes);
  if (dtype == DType::kBool) {
    auto* b = static_cast<uint8_t*>(t.raw_data());
    for (uint64_t i = 0; i < bytes; ++i) b[i] = b[i] != 0;
  }
  return t;
}
}  // namespace

StatusOr<std::string> SerializeGraph(const ir::Graph& graph, std::string_view backend,
                                     const EngineSettings& settings) {
  std::string weights;
  savedmodel::VariableStore store;
  store.min_bytes = kPayloadWeightBytes;
  store.store = [&](const std::string&, const Tensor& value) -> StatusOr<std::string> {
    const std::string key = std::to_string(weights.size()) + "+" + std::to_string(value.byte_size());
    weights.append(static_cast<const char*>(value.raw_data()), value.byte_size());
    return key;
  };
  KILN_ASSIGN_OR_RETURN(auto fn,
                        savedmodel::GraphToFunctionDef(graph, "kiln_" + std::string(backend) + "_engine", &store));
  if (!settings.tactics.empty()) {
    auto* list = (*fn.mutable_attr())[kTacticsAttr].mutable_list();
    for (const auto& [key, value] : settings.tactics) list->add_s(key + "\t" + value);
  }
  if (settings.allow_tf32) (*fn.mutable_attr())[kTf32Attr].set_b(true);
  if (fn.ByteSizeLong() > static_cast<size_t>(INT_MAX)) {
    return ResourceExhausted("the " + std::string(backend) + " engine's graph takes " +
                             std::to_string(fn.ByteSizeLong()) + " bytes without its weights, past protobuf's 2 GB");
  }
  std::string graph_bytes = fn.SerializeAsString();
  if (weights.empty()) return graph_bytes;
  return JoinPayload(graph_bytes, weights);
}

std::string JoinPayload(std::string_view graph, std::string_view weights) {
  std::string payload(kWeightsMagic);
  for (int i = 0; i < 8; ++i) payload.push_back(static_cast<char>((graph.size() >> (8 * i)) & 0xff));
  payload += graph;
  payload += weights;
  return payload;
}

StatusOr<ir::Graph> DeserializeGraph(std::string_view payload, std::string_view backend, EngineSettings* settings) {
  const std::string what = "the " + std::string(backend) + " engine payload";
  std::string_view graph_bytes = payload, weights;
  if (payload.substr(0, kWeightsMagic.size()) == kWeightsMagic) {
    const size_t header = kWeightsMagic.size() + 8;
    if (payload.size() < header) return DataLoss(what + " ends inside its header");
    uint64_t size = 0;
    for (int i = 0; i < 8; ++i) {
      size |= static_cast<uint64_t>(static_cast<uint8_t>(payload[kWeightsMagic.size() + i])) << (8 * i);
    }
    if (size > payload.size() - header) {
      return DataLoss(what + " says its graph takes " + std::to_string(size) + " bytes, past its end");
    }
    graph_bytes = payload.substr(header, size);
    weights = payload.substr(header + size);
  }
  tfproto::FunctionDef fn;
  if (graph_bytes.size() > static_cast<size_t>(INT_MAX) ||
      !fn.ParseFromArray(graph_bytes.data(), static_cast<int>(graph_bytes.size()))) {
    return DataLoss(what + " is not a serialized graph");
  }
  if (auto it = fn.attr().find(kTacticsAttr); it != fn.attr().end() && settings != nullptr) {
    for (const std::string& entry : it->second.list().s()) {
      const size_t tab = entry.find('\t');
      if (tab == std::string::npos) {
        return DataLoss("the " + std::string(backend) + " engine payload has a malformed tactic '" + entry + "'");
      }
      settings->tactics[entry.substr(0, tab)] = entry.substr(tab + 1);
    }
  }
  if (auto it = fn.attr().find(kTf32Attr); it != fn.attr().end() && settings != nullptr) {
    settings->allow_tf32 = it->second.b();
  }
  fn.mutable_attr()->erase(kTacticsAttr);
  fn.mutable_attr()->erase(kTf32Attr);
  const savedmodel::CheckpointReader read_weight = [weights](const std::string& key, DType dtype, const Shape& shape) {
    return ReadWeight(weights, key, dtype, shape);
  };
  return savedmodel::GraphFromFunctionDef(fn, &read_weight);
}

Status GraphEngine::CreateExecutor(runtime::ExecutorOptions options) {
  KILN_ASSIGN_OR_RETURN(executor_, runtime::Executor::Create(graph_, std::move(options)));
  return OkStatus();
}

}  // namespace kiln::engine
