// If, Loop and Scan: their graph attributes become functions of the graph being built, run by
// kiln's If and Loop ops (src/ir/ops/control_flow_ops.cc). Values a body reads from the graphs
// around it are passed to it as inputs.
#include <algorithm>
#include <limits>

#include "frontends/onnx/ops/common.h"
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::onnx {
namespace {

ir::OutputInfo InfoOf(const ConvertContext& ctx, ir::ValueRef v) { return {ctx.dtype(v), ctx.shape(v)}; }

ir::ValueRef AddPlaceholder(ir::Graph& graph, const std::string& name, const ir::OutputInfo& info) {
  ir::AttrMap attrs;
  attrs.Set("dtype", info.dtype);
  attrs.Set("shape", info.shape);
  ir::Node* p = graph.AddNode(graph.UniqueName(name), "Placeholder", {}, std::move(attrs), 1);
  p->outputs[0] = info;
  return {p->id, 0};
}

// Makes `body` take `all` (values of the calling graph) after its first `formal` inputs, in that
// order: the captures it has move to their place, and the ones it lacks become inputs it ignores.
void TakeCaptures(const ConvertContext& ctx, Body& body, size_t formal, const std::vector<ir::ValueRef>& all) {
  std::vector<ir::GraphEndpoint>& inputs = body.graph.inputs();
  std::vector<ir::GraphEndpoint> arranged(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(formal));
  for (size_t k = 0; k < all.size(); ++k) {
    auto it = std::find(body.captures.begin(), body.captures.end(), all[k]);
    if (it != body.captures.end()) {
      arranged.push_back(inputs[formal + static_cast<size_t>(it - body.captures.begin())]);
    } else {
      const std::string name = "unused_" + std::to_string(k);
      arranged.push_back({name, AddPlaceholder(body.graph, name, InfoOf(ctx, all[k]))});
    }
  }
  inputs = std::move(arranged);
  body.captures = all;
}

std::vector<ir::OutputInfo> OutputInfos(const ir::Graph& g) {
  std::vector<ir::OutputInfo> out;
  for (const auto& e : g.outputs()) out.push_back(g.output_info(e.value));
  return out;
}

std::vector<DType> DTypes(const std::vector<ir::OutputInfo>& infos, size_t first = 0) {
  std::vector<DType> out;
  for (size_t i = first; i < infos.size(); ++i) out.push_back(infos[i].dtype);
  return out;
}

// A loop body converted with loop-carried inputs (from `first_carried`, `count` of them) whose
// shapes hold in every iteration: it is converted with the initial shapes, and again with the
// shapes relaxed wherever an iteration gives another, until they agree (the converters may have
// read a shape that then changes). Carried outputs follow the condition output when
// `cond_output`.
StatusOr<Body> ConvertLoopBody(const ConvertContext& ctx, const std::string& attr, std::vector<ir::OutputInfo> inputs,
                               size_t first_carried, size_t count, bool cond_output) {
  for (int round = 0;; ++round) {
    KILN_ASSIGN_OR_RETURN(Body body, ctx.ConvertBody(attr, inputs));
    const std::vector<ir::OutputInfo> outs = OutputInfos(body.graph);
    const size_t first_out = cond_output ? 1 : 0;
    if (outs.size() < first_out + count) {
      return InvalidArgument("graph attribute '" + attr + "' gives " + std::to_string(outs.size()) +
                             " outputs; it must give at least " + std::to_string(first_out + count));
    }
    bool stable = true;
    for (size_t k = 0; k < count; ++k) {
      ir::OutputInfo& in = inputs[first_carried + k];
      const ir::OutputInfo& out = outs[first_out + k];
      if (out.dtype != in.dtype) {
        return InvalidArgument("loop-carried value " + std::to_string(k) + " ('" +
                               body.graph.inputs()[first_carried + k].name + "') enters the body as " +
                               std::string(DTypeName(in.dtype)) + " and leaves it as " +
                               std::string(DTypeName(out.dtype)));
      }
      PartialShape relaxed =
          round < 3 ? ir::MostSpecificCommonShape(in.shape, out.shape) : PartialShape::Unknown();
      if (!(relaxed == in.shape)) {
        in.shape = std::move(relaxed);
        stable = false;
      }
    }
    if (stable) return body;
  }
}

Status IfOp(ConvertContext& ctx) {
  const ir::ValueRef cond = ctx.input(0);
  // A condition known now (folded from shapes, say): only the branch taken is converted, inline.
  if (const Tensor* known = ctx.constant(cond); known != nullptr && known->num_elements() == 1) {
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> value, known->ToInt64Vector());
    const char* taken = value[0] != 0 ? "then_branch" : "else_branch";
    KILN_ASSIGN_OR_RETURN(std::vector<ir::ValueRef> outs, ctx.InlineBody(taken));
    if (static_cast<int>(outs.size()) < ctx.num_outputs()) {
      return InvalidArgument(std::string(taken) + " gives " + std::to_string(outs.size()) + " outputs; the node has " +
                             std::to_string(ctx.num_outputs()));
    }
    for (int i = 0; i < ctx.num_outputs(); ++i) ctx.SetOutput(i, outs[i]);
    return OkStatus();
  }
  KILN_ASSIGN_OR_RETURN(Body then_body, ctx.ConvertBody("then_branch", {}));
  KILN_ASSIGN_OR_RETURN(Body else_body, ctx.ConvertBody("else_branch", {}));
  const std::vector<ir::OutputInfo> then_out = OutputInfos(then_body.graph);
  const std::vector<ir::OutputInfo> else_out = OutputInfos(else_body.graph);
  if (then_out.size() != else_out.size() || static_cast<int>(then_out.size()) < ctx.num_outputs()) {
    return InvalidArgument("then_branch gives " + std::to_string(then_out.size()) + " outputs and else_branch " +
                           std::to_string(else_out.size()) + "; the node has " + std::to_string(ctx.num_outputs()));
  }
  for (size_t i = 0; i < then_out.size(); ++i) {
    if (then_out[i].dtype != else_out[i].dtype) {
      return InvalidArgument("output " + std::to_string(i) + " is " + std::string(DTypeName(then_out[i].dtype)) +
                             " in then_branch but " + std::string(DTypeName(else_out[i].dtype)) + " in else_branch");
    }
  }
  std::vector<ir::ValueRef> captures = then_body.captures;
  for (ir::ValueRef v : else_body.captures) {
    if (std::find(captures.begin(), captures.end(), v) == captures.end()) captures.push_back(v);
  }
  TakeCaptures(ctx, then_body, 0, captures);
  TakeCaptures(ctx, else_body, 0, captures);
  std::vector<ir::ValueRef> inputs = {cond};
  inputs.insert(inputs.end(), captures.begin(), captures.end());
  ir::AttrMap attrs;
  attrs.Set("Tcond", ctx.dtype(cond));
  attrs.Set("Tin", DTypes([&] {
              std::vector<ir::OutputInfo> infos;
              for (ir::ValueRef v : captures) infos.push_back(InfoOf(ctx, v));
              return infos;
            }()));
  attrs.Set("Tout", DTypes(then_out));
  attrs.Set("then_branch", ir::FuncRef{ctx.AddFunction("then_branch", std::move(then_body.graph))});
  attrs.Set("else_branch", ir::FuncRef{ctx.AddFunction("else_branch", std::move(else_body.graph))});
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ValueRef> outs,
                        ctx.OpN("If", std::move(inputs), std::move(attrs), static_cast<int>(then_out.size())));
  for (int i = 0; i < ctx.num_outputs(); ++i) ctx.SetOutput(i, outs[i]);
  return OkStatus();
}

// The IR Loop node for a body taking (iteration, condition, carried..., scanned..., captures...)
// and giving (condition, carried..., per-iteration...).
StatusOr<std::vector<ir::ValueRef>> EmitLoop(ConvertContext& ctx, const std::string& role, Body body,
                                             ir::ValueRef trips, ir::ValueRef cond,
                                             const std::vector<ir::ValueRef>& carried,
                                             const std::vector<ir::ValueRef>& scanned) {
  const std::vector<ir::OutputInfo> outs = OutputInfos(body.graph);
  std::vector<ir::ValueRef> inputs = {trips, cond};
  inputs.insert(inputs.end(), carried.begin(), carried.end());
  inputs.insert(inputs.end(), scanned.begin(), scanned.end());
  inputs.insert(inputs.end(), body.captures.begin(), body.captures.end());
  ir::AttrMap attrs;
  attrs.Set("num_carried", static_cast<int64_t>(carried.size()));
  attrs.Set("num_scan_inputs", static_cast<int64_t>(scanned.size()));
  attrs.Set("Tout", DTypes(outs, 1));
  attrs.Set("body", ir::FuncRef{ctx.AddFunction(role, std::move(body.graph))});
  return ctx.OpN("Loop", std::move(inputs), std::move(attrs), static_cast<int>(outs.size()) - 1);
}

Status LoopOp(ConvertContext& ctx) {
  const ir::ValueRef trips =
      ctx.has_input(0) ? ctx.input(0) : ctx.Int64Scalar(std::numeric_limits<int64_t>::max());
  const ir::ValueRef cond = ctx.has_input(1) ? ctx.input(1) : ctx.Const(Tensor::Scalar<bool>(true));
  if (ctx.dtype(trips) != DType::kInt64 || ctx.dtype(cond) != DType::kBool) {
    return InvalidArgument("the trip count M must be int64 and the condition bool; they are " +
                           std::string(DTypeName(ctx.dtype(trips))) + " and " +
                           std::string(DTypeName(ctx.dtype(cond))));
  }
  std::vector<ir::ValueRef> carried;
  std::vector<ir::OutputInfo> body_inputs = {{DType::kInt64, PartialShape::Known({})},
                                             {DType::kBool, PartialShape::Known({})}};
  for (int i = 2; i < ctx.num_inputs(); ++i) {
    carried.push_back(ctx.input(i));
    body_inputs.push_back(InfoOf(ctx, ctx.input(i)));
  }
  KILN_ASSIGN_OR_RETURN(Body body, ConvertLoopBody(ctx, "body", body_inputs, 2, carried.size(), true));
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ValueRef> outs,
                        EmitLoop(ctx, "body", std::move(body), trips, cond, carried, {}));
  for (int i = 0; i < ctx.num_outputs() && i < static_cast<int>(outs.size()); ++i) ctx.SetOutput(i, outs[i]);
  return OkStatus();
}

// x with its first axis reversed.
StatusOr<ir::ValueRef> ReverseFirstAxis(ConvertContext& ctx, ir::ValueRef x) {
  return ctx.Op("ReverseV2", {x, ctx.Ints({0})}, Attrs({{"T", ctx.dtype(x)}, {"Tidx", DType::kInt64}}));
}

// Scan runs as a Loop over its scan inputs, each moved so that its scan axis comes first (and
// reversed where it scans backwards); the body gets an iteration number and a condition it passes
// through. Each scan output is stacked on a new first axis and then moved to its axis.
Status ScanOp(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t num_scanned, ctx.Int("num_scan_inputs"));
  if (num_scanned < 1 || num_scanned > ctx.num_inputs()) {
    return InvalidArgument("num_scan_inputs is " + std::to_string(num_scanned) + " but the node has " +
                           std::to_string(ctx.num_inputs()) + " inputs");
  }
  const int ns = static_cast<int>(num_scanned), nc = ctx.num_inputs() - ns;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> in_axes, ctx.Ints("scan_input_axes", std::vector<int64_t>(ns, 0)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> in_dirs, ctx.Ints("scan_input_directions", std::vector<int64_t>(ns, 0)));
  if (static_cast<int>(in_axes.size()) != ns || static_cast<int>(in_dirs.size()) != ns) {
    return InvalidArgument("scan_input_axes and scan_input_directions must have num_scan_inputs (" +
                           std::to_string(ns) + ") entries");
  }
  std::vector<ir::ValueRef> carried, scanned;
  std::vector<ir::OutputInfo> body_inputs;
  for (int i = 0; i < nc; ++i) {
    carried.push_back(ctx.input(i));
    body_inputs.push_back(InfoOf(ctx, ctx.input(i)));
  }
  for (int i = 0; i < ns; ++i) {
    ir::ValueRef x = ctx.input(nc + i);
    if (in_axes[i] != 0) {
      KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "scan input " + std::to_string(i)));
      KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(in_axes[i], rank, "scan_input_axes"));
      std::vector<int64_t> perm = {axis};
      for (int d = 0; d < rank; ++d) {
        if (d != axis) perm.push_back(d);
      }
      KILN_ASSIGN_OR_RETURN(x, Transpose(ctx, x, perm));
    }
    if (in_dirs[i] != 0) {
      KILN_ASSIGN_OR_RETURN(x, ReverseFirstAxis(ctx, x));
    }
    scanned.push_back(x);
    PartialShape slice = ctx.shape(x);
    if (slice.rank() == 0) return InvalidArgument("scan input " + std::to_string(i) + " is a scalar");
    if (slice.rank_known) slice.dims.erase(slice.dims.begin());
    body_inputs.push_back({ctx.dtype(x), slice});
  }
  KILN_ASSIGN_OR_RETURN(Body body, ConvertLoopBody(ctx, "body", body_inputs, 0, carried.size(), false));
  // The Loop's iteration number and condition come first; the condition is passed through.
  ir::Graph& g = body.graph;
  const ir::ValueRef iteration = AddPlaceholder(g, "iteration", {DType::kInt64, PartialShape::Known({})});
  const ir::ValueRef cond = AddPlaceholder(g, "condition", {DType::kBool, PartialShape::Known({})});
  g.inputs().insert(g.inputs().begin(), {{"iteration", iteration}, {"condition", cond}});
  g.outputs().insert(g.outputs().begin(), {"condition", cond});
  const int num_outputs = static_cast<int>(g.outputs().size()) - 1;
  const int64_t num_stacked = num_outputs - nc;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_axes,
                        ctx.Ints("scan_output_axes", std::vector<int64_t>(num_stacked, 0)));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> out_dirs,
                        ctx.Ints("scan_output_directions", std::vector<int64_t>(num_stacked, 0)));
  if (static_cast<int64_t>(out_axes.size()) != num_stacked || static_cast<int64_t>(out_dirs.size()) != num_stacked) {
    return InvalidArgument("scan_output_axes and scan_output_directions must have one entry per scan output (" +
                           std::to_string(num_stacked) + ")");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ValueRef> outs,
                        EmitLoop(ctx, "body", std::move(body), ctx.Int64Scalar(std::numeric_limits<int64_t>::max()),
                                 ctx.Const(Tensor::Scalar<bool>(true)), carried, scanned));
  for (int k = 0; k < num_stacked; ++k) {
    ir::ValueRef y = outs[nc + k];
    if (out_dirs[k] != 0) {
      KILN_ASSIGN_OR_RETURN(y, ReverseFirstAxis(ctx, y));
    }
    if (out_axes[k] != 0) {
      KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, y, "scan output " + std::to_string(k)));
      KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(out_axes[k], rank, "scan_output_axes"));
      std::vector<int64_t> perm;
      for (int d = 1; d < rank; ++d) {
        if (static_cast<int>(perm.size()) == axis) perm.push_back(0);
        perm.push_back(d);
      }
      if (static_cast<int>(perm.size()) == axis) perm.push_back(0);
      KILN_ASSIGN_OR_RETURN(y, Transpose(ctx, y, perm));
    }
    outs[nc + k] = y;
  }
  for (int i = 0; i < ctx.num_outputs() && i < static_cast<int>(outs.size()); ++i) ctx.SetOutput(i, outs[i]);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("If", IfOp);
KILN_REGISTER_ONNX_OP("Loop", LoopOp);
KILN_REGISTER_ONNX_OP("Scan", ScanOp);

}  // namespace kiln::onnx
