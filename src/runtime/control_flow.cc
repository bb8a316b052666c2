#include "runtime/control_flow.h"

#include <cstring>
#include <memory>

namespace kiln::runtime {
namespace {

// An executor for function `f` of `graph`, a body of `node` named in attribute `attr`.
StatusOr<std::unique_ptr<Executor>> BodyExecutor(const ir::Graph& graph, const ir::Node& node, const ir::FuncRef& f,
                                                 const std::string& attr, const ExecutorOptions& options) {
  const ir::Graph* body = graph.function(f.name);
  if (body == nullptr) {
    return NotFound("the function '" + f.name + "' (attribute '" + attr + "') is not in the graph")
        .AtNode(node.name, node.op);
  }
  ExecutorOptions body_options;
  body_options.device = options.device;
  body_options.allow_tf32 = options.allow_tf32;
  body_options.max_loop_iterations = options.max_loop_iterations;
  auto executor = Executor::Create(*body, std::move(body_options));
  if (!executor.ok()) {
    Status s = executor.status();
    return s.Prepend("in " + attr + " '" + f.name + "' of node '" + node.name + "' (" + node.op + ")");
  }
  return executor;
}

// The executor of the body that `node`'s FuncRef attribute `attr` names.
StatusOr<std::unique_ptr<Executor>> BodyExecutor(const ir::Graph& graph, const ir::Node& node,
                                                 const std::string& attr, const ExecutorOptions& options) {
  KILN_ASSIGN_OR_RETURN(ir::FuncRef f, node.attrs.Get<ir::FuncRef>(attr));
  return BodyExecutor(graph, node, f, attr, options);
}

// Runs `body` where the calling kernel runs: on the host, or on the device's stream with the
// outputs left there.
StatusOr<std::vector<Tensor>> RunBody(const Executor& body, const std::vector<Tensor>& inputs,
                                      DeviceContext* device) {
  if (device == nullptr) return body.Run(inputs);
  return body.Run(inputs, {.context = device, .outputs_on_device = true});
}

StatusOr<Tensor> OnHost(const Tensor& t, DeviceContext* device) {
  if (t.on_host()) return t;
  if (device == nullptr) return CopyTensor(t, Device::CPU());
  KILN_ASSIGN_OR_RETURN(std::vector<Tensor> host, device->ToHost({t}));
  return std::move(host[0]);
}

// A one-element tensor (a condition or trip count) read on the host as an int64; bools and
// floats count as nonzero or not.
StatusOr<int64_t> ScalarValue(const Tensor& t, DeviceContext* device, const std::string& what) {
  if (t.num_elements() != 1) {
    return InvalidArgument(what + " has shape " + ShapeToString(t.shape()) + "; it must hold one value");
  }
  KILN_ASSIGN_OR_RETURN(Tensor host, OnHost(t, device));
  if (host.dtype() == DType::kFloat32) return host.data<float>()[0] != 0.0f ? 1 : 0;
  if (host.dtype() == DType::kFloat64) return host.data<double>()[0] != 0.0 ? 1 : 0;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, host.ToInt64Vector());
  return v.at(0);
}

Shape DropFirst(const Shape& s) { return Shape(s.begin() + 1, s.end()); }

// The slices of `t` along its first axis, each without that axis.
StatusOr<std::vector<Tensor>> Unstack(const Tensor& t, DeviceContext* device) {
  if (t.dtype() == DType::kVariant) return Unimplemented("scanning over tensor lists");
  const int64_t n = t.dim(0);
  const Shape slice_shape = DropFirst(t.shape());
  std::vector<Tensor> out;
  if (n == 0) return out;
  if (!t.on_host()) {
    KILN_ASSIGN_OR_RETURN(std::vector<Tensor> parts, device->SplitAlong(t, 0, std::vector<int64_t>(n, 1)));
    for (Tensor& p : parts) {
      KILN_ASSIGN_OR_RETURN(Tensor s, p.Reshaped(slice_shape));
      out.push_back(std::move(s));
    }
    return out;
  }
  const int64_t count = NumElements(slice_shape);
  for (int64_t i = 0; i < n; ++i) {
    if (t.dtype() == DType::kString) {
      const auto& all = t.strings();
      out.push_back(Tensor::Strings(slice_shape, {all.begin() + i * count, all.begin() + (i + 1) * count}));
      continue;
    }
    Tensor s = Tensor::Empty(t.dtype(), slice_shape);
    const size_t bytes = s.byte_size();
    if (bytes > 0) std::memcpy(s.raw_data(), static_cast<const char*>(t.raw_data()) + i * bytes, bytes);
    out.push_back(std::move(s));
  }
  return out;
}

// `parts` (all of one dtype and shape) stacked along a new first axis; with no parts, an empty
// tensor of `dtype` shaped [0] + `empty_shape` (unknown dims as 0).
StatusOr<Tensor> Stack(const std::vector<Tensor>& parts, DType dtype, const ir::OutputInfo& element,
                       DeviceContext* device) {
  if (dtype == DType::kVariant) return Unimplemented("stacking tensor lists across iterations");
  if (parts.empty()) {
    Shape shape = {0};
    if (element.shape.rank_known) {
      for (int64_t d : element.shape.dims) shape.push_back(std::max<int64_t>(d, 0));
    }
    Tensor empty = Tensor::Empty(dtype, shape);
    if (device == nullptr || dtype == DType::kString) return empty;
    return device->ToDevice(empty);
  }
  Shape shape = parts[0].shape();
  shape.insert(shape.begin(), static_cast<int64_t>(parts.size()));
  const bool on_device = !parts[0].on_host() && parts[0].dtype() != DType::kString;
  if (on_device) {
    std::vector<Tensor> rows;
    std::vector<const Tensor*> ptrs;
    Shape row_shape = parts[0].shape();
    row_shape.insert(row_shape.begin(), 1);
    for (const Tensor& p : parts) {
      KILN_ASSIGN_OR_RETURN(Tensor row, p.Reshaped(row_shape));
      rows.push_back(std::move(row));
    }
    for (const Tensor& r : rows) ptrs.push_back(&r);
    KILN_ASSIGN_OR_RETURN(Tensor out, device->Allocate(dtype, shape));
    KILN_RETURN_IF_ERROR(device->ConcatInto(ptrs, 0, out));
    return out;
  }
  if (dtype == DType::kString) {
    std::vector<std::string> all;
    for (const Tensor& p : parts) all.insert(all.end(), p.strings().begin(), p.strings().end());
    return Tensor::Strings(shape, std::move(all));
  }
  Tensor out = Tensor::Empty(dtype, shape);
  char* dst = static_cast<char*>(out.raw_data());
  for (const Tensor& p : parts) {
    KILN_ASSIGN_OR_RETURN(Tensor host, OnHost(p, device));
    if (host.byte_size() > 0) std::memcpy(dst, host.raw_data(), host.byte_size());
    dst += host.byte_size();
  }
  return out;
}

std::string Describe(const Tensor& t) { return std::string(DTypeName(t.dtype())) + " " + ShapeToString(t.shape()); }

// If and Case: input 0 picks the branch (If: then_branch when nonzero; Case: branches[index], the
// last one when the index is outside the list), which runs on the other inputs.
Status MakeBranchKernel(const ir::Graph& graph, const ir::Node& node, const ExecutorOptions& options,
                        KernelFn& kernel) {
  const bool is_case = node.op == "Case" || node.op == "StatelessCase";
  std::vector<std::string> names;
  std::vector<std::shared_ptr<Executor>> branches;
  if (is_case) {
    KILN_ASSIGN_OR_RETURN(std::vector<ir::FuncRef> refs, node.attrs.Get<std::vector<ir::FuncRef>>("branches"));
    if (refs.empty()) return InvalidArgument("Case has no branches").AtNode(node.name, node.op);
    for (size_t b = 0; b < refs.size(); ++b) {
      names.push_back("branch " + std::to_string(b));
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Executor> e, BodyExecutor(graph, node, refs[b], names.back(), options));
      branches.push_back(std::move(e));
    }
  } else {
    // else_branch first: the condition's value indexes the list.
    for (const char* attr : {"else_branch", "then_branch"}) {
      KILN_ASSIGN_OR_RETURN(std::shared_ptr<Executor> e, BodyExecutor(graph, node, attr, options));
      branches.push_back(std::move(e));
      names.push_back(attr);
    }
  }
  kernel = [branches, names, is_case](KernelContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t value, ScalarValue(ctx.input(0), ctx.device_context(), "input 0"));
    const int64_t last = static_cast<int64_t>(branches.size()) - 1;
    const size_t taken = static_cast<size_t>(is_case ? (value < 0 || value > last ? last : value) : (value != 0));
    std::vector<Tensor> args;
    for (int i = 1; i < ctx.num_inputs(); ++i) args.push_back(ctx.input(i));
    auto outputs = RunBody(*branches[taken], args, ctx.device_context());
    if (!outputs.ok()) {
      Status s = outputs.status();
      return s.Prepend("in " + names[taken]);
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) ctx.set_output(i, std::move((*outputs)[i]));
    return OkStatus();
  };
  return OkStatus();
}

struct LoopSpec {
  int num_carried = 0;
  int num_scanned = 0;
  int64_t max_iterations = 0;
};

Status RunLoop(const Executor& body, const ir::Graph& body_graph, const LoopSpec& spec, KernelContext& ctx) {
  DeviceContext* device = ctx.device_context();
  KILN_ASSIGN_OR_RETURN(int64_t trips, ScalarValue(ctx.input(0), device, "the trip count"));
  KILN_ASSIGN_OR_RETURN(int64_t cond, ScalarValue(ctx.input(1), device, "the condition"));
  const int nc = spec.num_carried, ns = spec.num_scanned;
  std::vector<Tensor> carried;
  for (int i = 0; i < nc; ++i) carried.push_back(ctx.input(2 + i));
  std::vector<std::vector<Tensor>> scanned(ns);
  for (int i = 0; i < ns; ++i) {
    const Tensor& in = ctx.input(2 + nc + i);
    if (in.rank() == 0) return InvalidArgument("scanned input " + std::to_string(i) + " is a scalar");
    if (i > 0 && in.dim(0) != ctx.input(2 + nc).dim(0)) {
      return InvalidArgument("scanned inputs 0 and " + std::to_string(i) + " have " +
                             std::to_string(ctx.input(2 + nc).dim(0)) + " and " + std::to_string(in.dim(0)) +
                             " slices; they must have as many");
    }
    KILN_ASSIGN_OR_RETURN(scanned[i], Unstack(in, device));
    trips = std::min<int64_t>(trips, in.dim(0));
  }
  const int num_stacked = ctx.num_outputs() - nc;
  std::vector<std::vector<Tensor>> stacked(num_stacked);
  std::vector<Tensor> args(static_cast<size_t>(ctx.num_inputs()));
  for (int i = 2 + nc + ns; i < ctx.num_inputs(); ++i) args[i] = ctx.input(i);
  int64_t i = 0;
  for (; cond != 0 && i < trips; ++i) {
    if (i >= spec.max_iterations) {
      return ResourceExhausted("the loop reached its limit of " + std::to_string(spec.max_iterations) +
                               " iterations without finishing (raise the limit with the max_loop_iterations "
                               "option if the model needs more)");
    }
    args[0] = Tensor::Scalar<int64_t>(i);
    args[1] = Tensor::Scalar<bool>(true);
    for (int k = 0; k < nc; ++k) {
      const ir::OutputInfo& takes = body_graph.output_info(body_graph.inputs()[2 + k].value);
      if (!takes.shape.Accepts(carried[k].shape())) {
        return InvalidArgument("loop-carried value " + std::to_string(k) + " is " + Describe(carried[k]) +
                               " at iteration " + std::to_string(i) + " but the body takes " + takes.shape.ToString());
      }
      args[2 + k] = carried[k];
    }
    for (int k = 0; k < ns; ++k) args[2 + nc + k] = scanned[k][i];
    auto outputs = RunBody(body, args, device);
    if (!outputs.ok()) {
      Status s = outputs.status();
      return s.Prepend("in the body at iteration " + std::to_string(i));
    }
    KILN_ASSIGN_OR_RETURN(cond, ScalarValue((*outputs)[0], device, "the body's condition"));
    for (int k = 0; k < nc; ++k) carried[k] = std::move((*outputs)[1 + k]);
    for (int k = 0; k < num_stacked; ++k) {
      Tensor& part = (*outputs)[1 + nc + k];
      if (!stacked[k].empty() && part.shape() != stacked[k][0].shape()) {
        return InvalidArgument("per-iteration output " + std::to_string(k) + " is " + Describe(part) +
                               " at iteration " + std::to_string(i) + " but " + Describe(stacked[k][0]) +
                               " before; they are stacked, so they must agree");
      }
      stacked[k].push_back(std::move(part));
    }
  }
  for (int k = 0; k < nc; ++k) ctx.set_output(k, std::move(carried[k]));
  for (int k = 0; k < num_stacked; ++k) {
    const ir::OutputInfo& element = body_graph.output_info(body_graph.outputs()[1 + nc + k].value);
    KILN_ASSIGN_OR_RETURN(Tensor out, Stack(stacked[k], ctx.node().outputs[nc + k].dtype, element, device));
    ctx.set_output(nc + k, std::move(out));
  }
  return OkStatus();
}

Status MakeLoopKernel(const ir::Graph& graph, const ir::Node& node, const ExecutorOptions& options, KernelFn& kernel) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<Executor> body, BodyExecutor(graph, node, "body", options));
  KILN_ASSIGN_OR_RETURN(ir::FuncRef f, node.attrs.Get<ir::FuncRef>("body"));
  const ir::Graph* body_graph = graph.function(f.name);
  LoopSpec spec;
  KILN_ASSIGN_OR_RETURN(int64_t num_carried, node.attrs.Get<int64_t>("num_carried"));
  KILN_ASSIGN_OR_RETURN(int64_t num_scanned, node.attrs.Get<int64_t>("num_scan_inputs"));
  spec.num_carried = static_cast<int>(num_carried);
  spec.num_scanned = static_cast<int>(num_scanned);
  spec.max_iterations = options.max_loop_iterations;
  kernel = [body, body_graph, spec](KernelContext& ctx) { return RunLoop(*body, *body_graph, spec, ctx); };
  return OkStatus();
}

// Loop variables that `body` (a loop's cond or body) cannot take at iteration `i` are an error
// naming the variable and both shapes.
Status CheckLoopVariables(const ir::Graph& body, const char* what, const std::vector<Tensor>& vars, int64_t i) {
  for (size_t k = 0; k < vars.size(); ++k) {
    const ir::OutputInfo& takes = body.output_info(body.inputs()[k].value);
    if (!takes.shape.Accepts(vars[k].shape())) {
      return InvalidArgument("loop variable " + std::to_string(k) + " is " + Describe(vars[k]) + " at iteration " +
                             std::to_string(i) + " but the " + what + " takes " + takes.shape.ToString());
    }
  }
  return OkStatus();
}

struct WhileBodies {
  std::shared_ptr<Executor> cond, body;
  const ir::Graph* cond_graph = nullptr;
  const ir::Graph* body_graph = nullptr;
  int64_t max_iterations = 0;
};

Status RunWhile(const WhileBodies& w, KernelContext& ctx) {
  DeviceContext* device = ctx.device_context();
  std::vector<Tensor> vars;
  for (int i = 0; i < ctx.num_inputs(); ++i) vars.push_back(ctx.input(i));
  for (int64_t i = 0;; ++i) {
    KILN_RETURN_IF_ERROR(CheckLoopVariables(*w.cond_graph, "cond", vars, i));
    auto go = RunBody(*w.cond, vars, device);
    if (!go.ok()) {
      Status s = go.status();
      return s.Prepend("in cond at iteration " + std::to_string(i));
    }
    KILN_ASSIGN_OR_RETURN(int64_t holds, ScalarValue((*go)[0], device, "cond's output"));
    if (holds == 0) break;
    if (i >= w.max_iterations) {
      return ResourceExhausted("the loop reached its limit of " + std::to_string(w.max_iterations) +
                               " iterations without finishing (raise the limit with the max_loop_iterations "
                               "option if the model needs more)");
    }
    KILN_RETURN_IF_ERROR(CheckLoopVariables(*w.body_graph, "body", vars, i));
    auto next = RunBody(*w.body, vars, device);
    if (!next.ok()) {
      Status s = next.status();
      return s.Prepend("in the body at iteration " + std::to_string(i));
    }
    vars = std::move(next).value();
  }
  for (int k = 0; k < ctx.num_outputs(); ++k) ctx.set_output(k, std::move(vars[k]));
  return OkStatus();
}

Status MakeWhileKernel(const ir::Graph& graph, const ir::Node& node, const ExecutorOptions& options,
                       KernelFn& kernel) {
  WhileBodies w;
  KILN_ASSIGN_OR_RETURN(w.cond, BodyExecutor(graph, node, "cond", options));
  KILN_ASSIGN_OR_RETURN(w.body, BodyExecutor(graph, node, "body", options));
  KILN_ASSIGN_OR_RETURN(ir::FuncRef cond, node.attrs.Get<ir::FuncRef>("cond"));
  KILN_ASSIGN_OR_RETURN(ir::FuncRef body, node.attrs.Get<ir::FuncRef>("body"));
  w.cond_graph = graph.function(cond.name);
  w.body_graph = graph.function(body.name);
  w.max_iterations = options.max_loop_iterations;
  kernel = [w](KernelContext& ctx) { return RunWhile(w, ctx); };
  return OkStatus();
}

}  // namespace

bool IsControlFlowOp(const std::string& op) {
  return op == "If" || op == "StatelessIf" || op == "Case" || op == "StatelessCase" || op == "Loop" ||
         op == "While" || op == "StatelessWhile";
}

StatusOr<KernelFn> MakeControlFlowKernel(const ir::Graph& graph, const ir::Node& node,
                                         const ExecutorOptions& options) {
  KernelFn kernel;
  if (node.op == "If" || node.op == "StatelessIf" || node.op == "Case" || node.op == "StatelessCase") {
    KILN_RETURN_IF_ERROR(MakeBranchKernel(graph, node, options, kernel));
  } else if (node.op == "While" || node.op == "StatelessWhile") {
    KILN_RETURN_IF_ERROR(MakeWhileKernel(graph, node, options, kernel));
  } else if (node.op == "Loop") {
    KILN_RETURN_IF_ERROR(MakeLoopKernel(graph, node, options, kernel));
  } else {
    return InvalidArgument("not a control-flow op").AtNode(node.name, node.op);
  }
  return kernel;
}

}  // namespace kiln::runtime
