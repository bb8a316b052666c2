// KilnEngineOp: a converted segment. Its outputs are declared by attributes, since its body lives
// in an engine (or, for native fallback, in the function named by segment_func).
#include "ir/op_registry.h"

namespace kiln::ir {
namespace {

Status EngineOpShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(auto tin, ctx.Attr<std::vector<DType>>("Tin"));
  KILN_ASSIGN_OR_RETURN(auto tout, ctx.Attr<std::vector<DType>>("Tout"));
  KILN_ASSIGN_OR_RETURN(auto shapes, ctx.Attr<std::vector<PartialShape>>("output_shapes"));
  if (static_cast<int>(tin.size()) != ctx.num_inputs()) {
    return InvalidArgument("Tin lists " + std::to_string(tin.size()) + " types for " +
                           std::to_string(ctx.num_inputs()) + " inputs");
  }
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input_dtype(i) != tin[i]) {
      return InvalidArgument("input " + std::to_string(i) + " is " + std::string(DTypeName(ctx.input_dtype(i))) +
                             ", Tin says " + std::string(DTypeName(tin[i])));
    }
  }
  if (shapes.size() != tout.size() || static_cast<int>(tout.size()) != ctx.num_outputs()) {
    return InvalidArgument("Tout and output_shapes must both list every output");
  }
  for (size_t i = 0; i < tout.size(); ++i) ctx.set_output(static_cast<int>(i), tout[i], shapes[i]);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("KilnEngineOp")
                     .Attr("segment_func")
                     .Attr("Tin", std::vector<DType>{})
                     .Attr("Tout", std::vector<DType>{})
                     .Attr("input_shapes", std::vector<PartialShape>{})
                     .Attr("output_shapes", std::vector<PartialShape>{})
                     .Attr("input_tensors", std::vector<std::string>{})
                     .Attr("precision_mode", std::string("fp32"))
                     .Attr("max_workspace_size_bytes", int64_t{1} << 30)
                     .Attr("maximum_cached_engines", int64_t{1})
                     .Attr("allow_build_at_runtime", true)
                     .Attr("allow_native_fallback", true)
                     .Attr("use_dynamic_shape", false)
                     .Attr("profile_strategy", std::string("range"))
                     .Attr("explicit_quantization", false)
                     .Attr("allow_tf32", false)
                     .Attr("keep_precision", std::vector<std::string>{})
                     .OutputTypeList("outputs", "Tout")
                     .Shape(EngineOpShape));

}  // namespace kiln::ir
