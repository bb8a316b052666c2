// ONNX's recurrent layers with ONNX's semantics (layout 0: time first):
//   OnnxRNN(X, W, R, B, sequence_lens, initial_h) -> Y, Y_h
//   OnnxGRU(X, W, R, B, sequence_lens, initial_h) -> Y, Y_h
//   OnnxLSTM(X, W, R, B, sequence_lens, initial_h, initial_c, P) -> Y, Y_h, Y_c
// X [seq, batch, input], W [dirs, gates * hidden, input], R [dirs, gates * hidden, hidden],
// B [dirs, 2 * gates * hidden]; Y [seq, dirs, batch, hidden], Y_h and Y_c [dirs, batch, hidden].
// Optional inputs are always present; an absent one is empty (shape [0]).
#include "ir/op_registry.h"

namespace kiln::ir {
namespace {

int Gates(const std::string& op) { return op == "OnnxLSTM" ? 4 : op == "OnnxGRU" ? 3 : 1; }

// Dim `d` of input `i`, or -1 when unknown; an error when the rank is known and not `rank`.
StatusOr<int64_t> Dim(const InferenceContext& ctx, int i, int rank, int d, const char* what) {
  const PartialShape& s = ctx.input_shape(i);
  if (!s.rank_known) return int64_t{-1};
  if (s.rank() != rank) {
    return InvalidArgument(std::string(what) + " must have rank " + std::to_string(rank) + ", got " + s.ToString());
  }
  return s.dims[d];
}

Status RecurrentShape(InferenceContext& ctx) {
  const std::string& op = ctx.node().op;
  const int gates = Gates(op);
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(op == "OnnxLSTM" ? 8 : 6, op == "OnnxLSTM" ? 8 : 6));
  KILN_ASSIGN_OR_RETURN(std::string direction, ctx.Attr<std::string>("direction"));
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    return InvalidArgument("direction is '" + direction + "'; it must be forward, reverse or bidirectional");
  }
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  KILN_ASSIGN_OR_RETURN(int64_t hidden, ctx.Attr<int64_t>("hidden_size"));
  if (hidden < 1) return InvalidArgument("hidden_size is " + std::to_string(hidden) + "; it must be positive");
  const DType t = ctx.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64) {
    return InvalidArgument("X is " + std::string(DTypeName(t)) + "; kiln runs recurrent layers in float32 and float64");
  }
  for (int i : {1, 2}) {
    if (ctx.input_dtype(i) != t) return InvalidArgument("W and R must have X's dtype " + std::string(DTypeName(t)));
  }
  KILN_ASSIGN_OR_RETURN(int64_t seq, Dim(ctx, 0, 3, 0, "X"));
  KILN_ASSIGN_OR_RETURN(int64_t batch, Dim(ctx, 0, 3, 1, "X"));
  KILN_ASSIGN_OR_RETURN(int64_t input, Dim(ctx, 0, 3, 2, "X"));
  const std::pair<int, const char*> weights[] = {{1, "W"}, {2, "R"}};
  for (const auto& [i, name] : weights) {
    KILN_ASSIGN_OR_RETURN(int64_t w_dirs, Dim(ctx, i, 3, 0, name));
    KILN_ASSIGN_OR_RETURN(int64_t w_rows, Dim(ctx, i, 3, 1, name));
    KILN_ASSIGN_OR_RETURN(int64_t w_cols, Dim(ctx, i, 3, 2, name));
    const int64_t cols = i == 1 ? input : hidden;
    if ((w_dirs >= 0 && w_dirs != dirs) || (w_rows >= 0 && w_rows != gates * hidden) ||
        (w_cols >= 0 && cols >= 0 && w_cols != cols)) {
      return InvalidArgument(std::string(name) + " has shape " + ctx.input_shape(i).ToString() + "; with " +
                             std::to_string(dirs) + " direction(s), hidden_size " + std::to_string(hidden) +
                             " and " + std::to_string(gates) + " gate(s) it must be [" + std::to_string(dirs) + ", " +
                             std::to_string(gates * hidden) + ", " + (i == 1 ? "input size" : "hidden_size") + "]");
    }
  }
  ctx.set_output(0, t, PartialShape::Known({seq, dirs, batch, hidden}));
  for (int i = 1; i < ctx.num_outputs(); ++i) ctx.set_output(i, t, PartialShape::Known({dirs, batch, hidden}));
  return OkStatus();
}

OpDefBuilder Recurrent(const char* name) {
  return std::move(OpDefBuilder(name)
                       .Attr("direction", std::string("forward"))
                       .Attr("hidden_size")
                       .Attr("activations", std::vector<std::string>{})
                       .Attr("activation_alpha", std::vector<float>{})
                       .Attr("activation_beta", std::vector<float>{})
                       .Attr("clip", 0.0f)
                       .Attr("linear_before_reset", int64_t{0})
                       .Output("Y")
                       .Output("Y_h")
                       .Shape(RecurrentShape));
}

}  // namespace

KILN_REGISTER_OP(Recurrent("OnnxRNN"));
KILN_REGISTER_OP(Recurrent("OnnxGRU"));
KILN_REGISTER_OP(Recurrent("OnnxLSTM").Output("Y_c"));

}  // namespace kiln::ir
