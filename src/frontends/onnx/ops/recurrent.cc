// RNN, GRU and LSTM as kiln's OnnxRNN, OnnxGRU and OnnxLSTM (src/ir/ops/onnx_recurrent_ops.cc),
// which take layout 0 (time first): a batch-first model (layout 1) is transposed at the op's
// inputs and outputs. Absent optional inputs become empty vectors.
#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

Status Recurrent(ConvertContext& ctx, const std::string& op, int num_inputs, int num_outputs) {
  KILN_ASSIGN_OR_RETURN(int64_t layout, ctx.Int("layout", 0));
  if (layout != 0 && layout != 1) return ctx.Unsupported("layout " + std::to_string(layout));
  if (op == "OnnxLSTM") {
    KILN_ASSIGN_OR_RETURN(int64_t input_forget, ctx.Int("input_forget", 0));
    if (input_forget != 0) return ctx.Unsupported("input_forget (coupled input and forget gates)");
  }
  const std::vector<int64_t> swap01 = {1, 0, 2};
  std::vector<ir::ValueRef> inputs;
  for (int i = 0; i < num_inputs; ++i) {
    if (!ctx.has_input(i) && i >= 3) {
      inputs.push_back(ctx.Empty());
      continue;
    }
    ir::ValueRef v = ctx.input(i);
    // Batch-first X, initial_h and initial_c.
    const bool batch_first = i == 0 || i == 5 || i == 6;
    if (layout == 1 && batch_first) {
      KILN_ASSIGN_OR_RETURN(v, Transpose(ctx, v, swap01));
    }
    inputs.push_back(v);
  }
  const PartialShape& r = ctx.shape(inputs[2]);
  KILN_ASSIGN_OR_RETURN(int64_t hidden, ctx.Int("hidden_size", r.rank() == 3 ? r.dims[2] : -1));
  if (hidden < 1) return ctx.Unsupported("a hidden_size neither given nor known from R's shape");
  ir::AttrMap attrs;
  KILN_ASSIGN_OR_RETURN(std::string direction, ctx.String("direction", std::string("forward")));
  attrs.Set("direction", direction);
  attrs.Set("hidden_size", hidden);
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> activations, ctx.Strings("activations", std::vector<std::string>{}));
  attrs.Set("activations", activations);
  for (const char* name : {"activation_alpha", "activation_beta"}) {
    if (!ctx.has_attr(name)) continue;
    KILN_ASSIGN_OR_RETURN(std::vector<float> values, ctx.Floats(name));
    attrs.Set(name, values);
  }
  KILN_ASSIGN_OR_RETURN(float clip, ctx.Float("clip", 0.0f));
  attrs.Set("clip", clip);
  KILN_ASSIGN_OR_RETURN(int64_t linear_before_reset, ctx.Int("linear_before_reset", 0));
  attrs.Set("linear_before_reset", linear_before_reset);
  KILN_ASSIGN_OR_RETURN(std::vector<ir::ValueRef> outs, ctx.OpN(op, std::move(inputs), std::move(attrs), num_outputs));
  for (int i = 0; i < num_outputs && i < ctx.num_outputs(); ++i) {
    ir::ValueRef v = outs[i];
    // Y [seq, dirs, batch, hidden] -> [batch, seq, dirs, hidden]; the states [dirs, batch, hidden]
    // -> [batch, dirs, hidden].
    if (layout == 1) {
      KILN_ASSIGN_OR_RETURN(v, Transpose(ctx, v, i == 0 ? std::vector<int64_t>{2, 0, 1, 3} : swap01));
    }
    ctx.SetOutput(i, v);
  }
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("RNN", [](ConvertContext& ctx) { return Recurrent(ctx, "OnnxRNN", 6, 2); });
KILN_REGISTER_ONNX_OP("GRU", [](ConvertContext& ctx) { return Recurrent(ctx, "OnnxGRU", 6, 2); });
KILN_REGISTER_ONNX_OP("LSTM", [](ConvertContext& ctx) { return Recurrent(ctx, "OnnxLSTM", 8, 3); });

}  // namespace kiln::onnx
