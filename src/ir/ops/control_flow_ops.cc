// Control flow: nodes that run graphs of their own (functions in the calling graph's library).
//
//   If(cond, args...)      runs then_branch(args...) when cond is true (nonzero), else
//                          else_branch(args...); both branches give Tout.
//   Loop(trips, cond, carried..., scanned..., invariant...)
//                          runs body(i, cond, carried..., scanned[i]..., invariant...) ->
//                          (cond, carried..., per-iteration...) for i = 0, 1, ... while i < trips
//                          and cond holds (and i is below the length of every scanned input);
//                          outputs the last carried values, then each per-iteration output
//                          stacked along a new first axis (ONNX Loop and Scan semantics).
//   While(vars...)         while cond(vars...) is true (nonzero), vars = body(vars...); outputs
//                          the last vars (TensorFlow's While and StatelessWhile).
//   Case(index, args...)   runs branches[index](args...), the last branch when index is outside
//                          the list (TensorFlow's Case and StatelessCase).
// StatelessIf is If.
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

std::string Ordinal(const std::string& what, int i) { return what + " " + std::to_string(i); }

// The graph inputs of `body` must take `dtypes` (one per input).
Status CheckBodyInputs(const Graph& body, const std::string& attr, const std::vector<DType>& dtypes) {
  if (body.inputs().size() != dtypes.size()) {
    return InvalidArgument(attr + " takes " + std::to_string(body.inputs().size()) + " inputs; the node passes " +
                           std::to_string(dtypes.size()));
  }
  for (size_t i = 0; i < dtypes.size(); ++i) {
    const DType takes = body.output_info(body.inputs()[i].value).dtype;
    if (takes != dtypes[i]) {
      return InvalidArgument(attr + " input " + std::to_string(i) + " ('" + body.inputs()[i].name + "') is " +
                             std::string(DTypeName(takes)) + " but the node passes " +
                             std::string(DTypeName(dtypes[i])));
    }
  }
  return OkStatus();
}

std::vector<DType> InputDTypes(const InferenceContext& ctx, int first) {
  std::vector<DType> out;
  for (int i = first; i < ctx.num_inputs(); ++i) out.push_back(ctx.input_dtype(i));
  return out;
}

// If's two branches or Case's list: each takes the node's inputs after the first (the condition or
// branch index) and gives Tout; an output's shape is what every branch may give.
Status BranchesShape(InferenceContext& ctx, const std::vector<std::pair<std::string, const Graph*>>& branches) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(1, 1 << 20));
  KILN_ASSIGN_OR_RETURN(std::vector<DType> tout, ctx.Attr<std::vector<DType>>("Tout"));
  if (ctx.input_shape(0).IsFullyDefined() && NumElements(ctx.input_shape(0).dims) != 1) {
    return InvalidArgument("input 0 (the condition or branch index) has shape " + ctx.input_shape(0).ToString() +
                           "; it must hold one value");
  }
  const std::vector<DType> args = InputDTypes(ctx, 1);
  for (const auto& [name, branch] : branches) {
    KILN_RETURN_IF_ERROR(CheckBodyInputs(*branch, name, args));
    if (branch->outputs().size() != tout.size()) {
      return InvalidArgument(name + " gives " + std::to_string(branch->outputs().size()) + " outputs; the node has " +
                             std::to_string(tout.size()));
    }
  }
  for (size_t i = 0; i < tout.size(); ++i) {
    PartialShape shape;
    for (size_t b = 0; b < branches.size(); ++b) {
      const auto& [name, branch] = branches[b];
      const OutputInfo& gives = branch->output_info(branch->outputs()[i].value);
      if (gives.dtype != tout[i]) {
        return InvalidArgument(Ordinal("output", static_cast<int>(i)) + " is " + std::string(DTypeName(tout[i])) +
                               " but " + name + " gives " + std::string(DTypeName(gives.dtype)));
      }
      shape = b == 0 ? gives.shape : MostSpecificCommonShape(shape, gives.shape);
    }
    ctx.set_output(static_cast<int>(i), tout[i], shape);
  }
  return OkStatus();
}

Status IfShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const Graph* then_branch, ctx.Function("then_branch"));
  KILN_ASSIGN_OR_RETURN(const Graph* else_branch, ctx.Function("else_branch"));
  return BranchesShape(ctx, {{"then_branch", then_branch}, {"else_branch", else_branch}});
}

Status CaseShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::vector<const Graph*> graphs, ctx.Functions("branches"));
  if (graphs.empty()) return InvalidArgument("Case has no branches");
  if (ctx.input_dtype(0) != DType::kInt32) {
    return InvalidArgument("the branch index is " + std::string(DTypeName(ctx.input_dtype(0))) + "; it must be int32");
  }
  std::vector<std::pair<std::string, const Graph*>> branches;
  for (size_t b = 0; b < graphs.size(); ++b) branches.push_back({"branch " + std::to_string(b), graphs[b]});
  return BranchesShape(ctx, branches);
}

Status LoopShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t num_carried, ctx.Attr<int64_t>("num_carried"));
  KILN_ASSIGN_OR_RETURN(int64_t num_scanned, ctx.Attr<int64_t>("num_scan_inputs"));
  KILN_ASSIGN_OR_RETURN(std::vector<DType> tout, ctx.Attr<std::vector<DType>>("Tout"));
  KILN_ASSIGN_OR_RETURN(const Graph* body, ctx.Function("body"));
  if (num_carried < 0 || num_scanned < 0 || 2 + num_carried + num_scanned > ctx.num_inputs() ||
      num_carried > static_cast<int64_t>(tout.size())) {
    return InvalidArgument("num_carried " + std::to_string(num_carried) + " and num_scan_inputs " +
                           std::to_string(num_scanned) + " do not fit the node's " +
                           std::to_string(ctx.num_inputs()) + " inputs and " + std::to_string(tout.size()) +
                           " outputs");
  }
  if (ctx.input_dtype(0) != DType::kInt64 || ctx.input_dtype(1) != DType::kBool) {
    return InvalidArgument("the trip count must be int64 and the condition bool; they are " +
                           std::string(DTypeName(ctx.input_dtype(0))) + " and " +
                           std::string(DTypeName(ctx.input_dtype(1))));
  }
  const int nc = static_cast<int>(num_carried), ns = static_cast<int>(num_scanned);
  std::vector<DType> takes = {DType::kInt64, DType::kBool};
  for (int i = 2; i < ctx.num_inputs(); ++i) takes.push_back(ctx.input_dtype(i));
  KILN_RETURN_IF_ERROR(CheckBodyInputs(*body, "body", takes));
  if (body->outputs().size() != 1 + tout.size()) {
    return InvalidArgument("body gives " + std::to_string(body->outputs().size()) + " outputs; the node has " +
                           std::to_string(tout.size()) + " plus the condition");
  }
  auto gives = [&](int i) -> const OutputInfo& { return body->output_info(body->outputs()[i].value); };
  if (gives(0).dtype != DType::kBool) {
    return InvalidArgument("body output 0, the condition, is " + std::string(DTypeName(gives(0).dtype)) +
                           "; it must be bool");
  }
  for (int i = 0; i < static_cast<int>(tout.size()); ++i) {
    const OutputInfo& out = gives(1 + i);
    if (out.dtype != tout[i]) {
      return InvalidArgument("body output " + std::to_string(1 + i) + " is " + std::string(DTypeName(out.dtype)) +
                             " but the node's output " + std::to_string(i) + " is " + std::string(DTypeName(tout[i])));
    }
    if (i < nc) {
      if (out.dtype != ctx.input_dtype(2 + i)) {
        return InvalidArgument("loop-carried value " + std::to_string(i) + " enters as " +
                               std::string(DTypeName(ctx.input_dtype(2 + i))) + " but the body gives " +
                               std::string(DTypeName(out.dtype)));
      }
      ctx.set_output(i, out.dtype, MostSpecificCommonShape(ctx.input_shape(2 + i), out.shape));
      continue;
    }
    PartialShape stacked = PartialShape::Unknown();
    if (out.shape.rank_known) {
      stacked = PartialShape::Known({-1});
      stacked.dims.insert(stacked.dims.end(), out.shape.dims.begin(), out.shape.dims.end());
    }
    ctx.set_output(i, out.dtype, stacked);
  }
  for (int i = 0; i < ns; ++i) {
    const PartialShape& s = ctx.input_shape(2 + nc + i);
    if (s.rank_known && s.rank() == 0) {
      return InvalidArgument("scanned input " + std::to_string(i) + " is a scalar; it needs an axis to scan");
    }
  }
  return OkStatus();
}

Status WhileShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::vector<DType> types, ctx.Attr<std::vector<DType>>("T"));
  KILN_ASSIGN_OR_RETURN(const Graph* cond, ctx.Function("cond"));
  KILN_ASSIGN_OR_RETURN(const Graph* body, ctx.Function("body"));
  const std::vector<DType> vars = InputDTypes(ctx, 0);
  if (vars != types) {
    return InvalidArgument("the node passes " + std::to_string(vars.size()) + " loop variables of other dtypes than T");
  }
  KILN_RETURN_IF_ERROR(CheckBodyInputs(*cond, "cond", vars));
  KILN_RETURN_IF_ERROR(CheckBodyInputs(*body, "body", vars));
  if (cond->outputs().size() != 1) {
    return InvalidArgument("cond gives " + std::to_string(cond->outputs().size()) + " outputs; it must give one");
  }
  if (body->outputs().size() != vars.size()) {
    return InvalidArgument("body gives " + std::to_string(body->outputs().size()) + " outputs for " +
                           std::to_string(vars.size()) + " loop variables");
  }
  for (size_t i = 0; i < vars.size(); ++i) {
    const OutputInfo& out = body->output_info(body->outputs()[i].value);
    if (out.dtype != vars[i]) {
      return InvalidArgument("loop variable " + std::to_string(i) + " enters the body as " +
                             std::string(DTypeName(vars[i])) + " and leaves it as " +
                             std::string(DTypeName(out.dtype)));
    }
    const PartialShape& entering = ctx.input_shape(static_cast<int>(i));
    ctx.set_output(static_cast<int>(i), vars[i], MostSpecificCommonShape(entering, out.shape));
  }
  return OkStatus();
}

OpDefBuilder IfOp(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("Tcond", DType::kBool)
                       .Attr("Tin", std::vector<DType>{})
                       .Attr("Tout")
                       .Attr("then_branch")
                       .Attr("else_branch")
                       .Attr("output_shapes", std::vector<PartialShape>{})
                       .OutputTypeList("output", "Tout")
                       .Shape(IfShape));
}

OpDefBuilder CaseOp(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("Tin", std::vector<DType>{})
                       .Attr("Tout")
                       .Attr("branches")
                       .Attr("output_shapes", std::vector<PartialShape>{})
                       .OutputTypeList("output", "Tout")
                       .Shape(CaseShape));
}

OpDefBuilder WhileOp(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("T")
                       .Attr("cond")
                       .Attr("body")
                       .Attr("output_shapes", std::vector<PartialShape>{})
                       .Attr("parallel_iterations", int64_t{10})
                       .OutputTypeList("output", "T")
                       .Shape(WhileShape));
}

}  // namespace

KILN_REGISTER_OP(IfOp("If"));
KILN_REGISTER_OP(IfOp("StatelessIf"));
KILN_REGISTER_OP(WhileOp("While"));
KILN_REGISTER_OP(CaseOp("Case"));
KILN_REGISTER_OP(CaseOp("StatelessCase"));
KILN_REGISTER_OP(WhileOp("StatelessWhile"));
KILN_REGISTER_OP(OpDefBuilder("Loop")
                     .Attr("body")
                     .Attr("num_carried")
                     .Attr("num_scan_inputs", int64_t{0})
                     .Attr("Tout")
                     .OutputTypeList("output", "Tout")
                     .Shape(LoopShape));

}  // namespace kiln::ir
