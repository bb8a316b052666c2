// Neural-network ONNX ops: Conv, pooling, normalization (BatchNormalization,
// LayerNormalization, InstanceNormalization), Gemm/MatMul, Softmax/LogSoftmax, Einsum.
// ONNX lays activations out [N, C, spatial...] and weights [M, C/group, kernel...]; kiln's Conv
// takes channels-first data and a [kernel..., C/group, M] filter, so weights are transposed
// (constant folding does that once at load).
#include <cctype>
#include <map>

#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

// A list attribute with one entry per spatial dim, defaulting to `fill`.
StatusOr<std::vector<int64_t>> SpatialList(const ConvertContext& ctx, const std::string& name, int spatial,
                                           int64_t fill, size_t per_dim = 1) {
  KILN_ASSIGN_OR_RETURN(auto v, ctx.Ints(name, std::vector<int64_t>(per_dim * spatial, fill)));
  if (v.empty()) v.assign(per_dim * spatial, fill);
  if (v.size() != per_dim * static_cast<size_t>(spatial)) {
    return InvalidArgument(name + " has " + std::to_string(v.size()) + " entries; " +
                           std::to_string(per_dim * spatial) + " expected for " + std::to_string(spatial) +
                           " spatial dims");
  }
  return v;
}

// A 2-D convolution with one group per input channel (MobileNet's and EfficientNet's depthwise
// layers): weights [C * multiplier, 1, kh, kw].
bool IsDepthwise(const ConvertContext& ctx, ValueRef x, ValueRef w, int64_t group, int spatial) {
  const PartialShape& xs = ctx.shape(x);
  const PartialShape& ws = ctx.shape(w);
  return spatial == 2 && group > 1 && xs.rank_known && xs.dims[1] == group && ws.dims[1] == 1 && ws.dims[0] >= 0 &&
         ws.dims[0] % group == 0;
}

// The depthwise op takes a [kh, kw, C, multiplier] filter; output channel c * multiplier + m is
// ONNX's channel of group c, so the channel order matches.
StatusOr<ValueRef> DepthwiseConv(ConvertContext& ctx, ValueRef x, ValueRef w, int64_t channels,
                                 const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                                 const std::string& padding, const std::vector<int64_t>& explicit_pads) {
  const PartialShape& ws = ctx.shape(w);
  KILN_ASSIGN_OR_RETURN(ValueRef filter,
                        ctx.Op("Reshape", {w, ctx.Ints({channels, ws.dims[0] / channels, ws.dims[2], ws.dims[3]})},
                               Attrs({{"T", ctx.dtype(w)}, {"Tshape", DType::kInt64}})));
  KILN_ASSIGN_OR_RETURN(filter, Transpose(ctx, filter, {2, 3, 0, 1}));
  return ctx.Op("DepthwiseConv2dNative", {x, filter},
                Attrs({{"T", ctx.dtype(x)},
                       {"strides", strides},
                       {"dilations", dilations},
                       {"padding", padding},
                       {"explicit_paddings", explicit_pads},
                       {"data_format", std::string("NCHW")}}));
}

// Adds the optional bias (input 2) per output channel and binds output 0.
Status AddBias(ConvertContext& ctx, ValueRef y) {
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(
        y, ctx.Op("BiasAdd", {y, ctx.input(2)}, Attrs({{"T", ctx.dtype(y)}, {"data_format", std::string("NCHW")}})));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Conv(ConvertContext& ctx) {
  const ValueRef x = ctx.input(0), w = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int wrank, KnownRank(ctx, w, "weights"));
  const int spatial = wrank - 2;
  if (spatial < 1 || spatial > 3) return ctx.Unsupported(std::to_string(spatial) + " spatial dims");
  KILN_ASSIGN_OR_RETURN(int64_t group, ctx.Int("group", 1));
  KILN_ASSIGN_OR_RETURN(auto strides, SpatialList(ctx, "strides", spatial, 1));
  KILN_ASSIGN_OR_RETURN(auto dilations, SpatialList(ctx, "dilations", spatial, 1));
  KILN_ASSIGN_OR_RETURN(auto pads, SpatialList(ctx, "pads", spatial, 0, 2));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, ctx.String("auto_pad", "NOTSET"));
  if (ctx.has_attr("kernel_shape")) {
    KILN_ASSIGN_OR_RETURN(auto kernel, ctx.Ints("kernel_shape"));
    const PartialShape& ws = ctx.shape(w);
    for (int i = 0; i < spatial && i < static_cast<int>(kernel.size()); ++i) {
      if (ws.dims[2 + i] >= 0 && ws.dims[2 + i] != kernel[i]) {
        return InvalidArgument("kernel_shape does not match the weights' shape " + ws.ToString());
      }
    }
  }

  std::string padding = "EXPLICIT";
  std::vector<int64_t> explicit_pads(4, 0);
  if (auto_pad == "VALID") {
    padding = "VALID";
    explicit_pads.clear();
  } else if (auto_pad == "SAME_UPPER") {
    padding = "SAME";  // extra padding at the end, as TensorFlow's SAME
    explicit_pads.clear();
  } else if (auto_pad == "SAME_LOWER") {
    const PartialShape& xs = ctx.shape(x);
    const PartialShape& ws = ctx.shape(w);
    for (int i = 0; i < spatial; ++i) {
      const int64_t in = xs.rank_known ? xs.dims[2 + i] : -1, k = ws.dims[2 + i];
      if (in < 0 || k < 0) return ctx.Unsupported("auto_pad SAME_LOWER on an input of unknown spatial size");
      const int64_t out = (in + strides[i] - 1) / strides[i];
      const int64_t total = std::max<int64_t>((out - 1) * strides[i] + (k - 1) * dilations[i] + 1 - in, 0);
      explicit_pads.push_back(total - total / 2);
      explicit_pads.push_back(total / 2);
    }
  } else if (auto_pad == "NOTSET") {
    for (int i = 0; i < spatial; ++i) {
      explicit_pads.push_back(pads[i]);
      explicit_pads.push_back(pads[spatial + i]);
    }
  } else {
    return InvalidArgument("unknown auto_pad '" + auto_pad + "'");
  }

  std::vector<int64_t> full_strides = {1, 1}, full_dilations = {1, 1};
  full_strides.insert(full_strides.end(), strides.begin(), strides.end());
  full_dilations.insert(full_dilations.end(), dilations.begin(), dilations.end());
  if (IsDepthwise(ctx, x, w, group, spatial)) {
    KILN_ASSIGN_OR_RETURN(ValueRef y,
                          DepthwiseConv(ctx, x, w, group, full_strides, full_dilations, padding, explicit_pads));
    return AddBias(ctx, y);
  }
  std::vector<int64_t> perm;
  for (int i = 0; i < spatial; ++i) perm.push_back(2 + i);
  perm.push_back(1);
  perm.push_back(0);
  KILN_ASSIGN_OR_RETURN(ValueRef filter, Transpose(ctx, w, perm));
  KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("Conv", {x, filter},
                                           Attrs({{"T", ctx.dtype(x)},
                                                  {"strides", full_strides},
                                                  {"dilations", full_dilations},
                                                  {"padding", padding},
                                                  {"explicit_paddings", explicit_pads},
                                                  {"data_format", std::string("CHANNELS_FIRST")},
                                                  {"batch_dims", int64_t{1}},
                                                  {"groups", group}})));
  return AddBias(ctx, y);
}

OpConverter Pool(std::string mode) {
  return [mode](ConvertContext& ctx) -> Status {
    if (ctx.wants_output(1)) return ctx.Unsupported("the Indices output");
    KILN_ASSIGN_OR_RETURN(auto kernel, ctx.Ints("kernel_shape"));
    const int spatial = static_cast<int>(kernel.size());
    if (spatial < 1 || spatial > 3) return ctx.Unsupported(std::to_string(spatial) + " spatial dims");
    KILN_ASSIGN_OR_RETURN(int64_t storage_order, ctx.Int("storage_order", 0));
    if (storage_order != 0) return ctx.Unsupported("storage_order 1");
    KILN_ASSIGN_OR_RETURN(auto strides, SpatialList(ctx, "strides", spatial, 1));
    KILN_ASSIGN_OR_RETURN(auto dilations, SpatialList(ctx, "dilations", spatial, 1));
    KILN_ASSIGN_OR_RETURN(auto pads, SpatialList(ctx, "pads", spatial, 0, 2));
    KILN_ASSIGN_OR_RETURN(std::string auto_pad, ctx.String("auto_pad", "NOTSET"));
    KILN_ASSIGN_OR_RETURN(int64_t ceil_mode, ctx.Int("ceil_mode", 0));
    KILN_ASSIGN_OR_RETURN(int64_t count_include_pad, ctx.Int("count_include_pad", 0));
    KILN_ASSIGN_OR_RETURN(int64_t p, ctx.Int("p", 2));
    KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op("OnnxPool", {ctx.input(0)},
                                             Attrs({{"T", ctx.dtype(ctx.input(0))},
                                                    {"mode", mode},
                                                    {"kernel_shape", kernel},
                                                    {"strides", strides},
                                                    {"pads", pads},
                                                    {"dilations", dilations},
                                                    {"auto_pad", auto_pad},
                                                    {"ceil_mode", ceil_mode},
                                                    {"count_include_pad", count_include_pad},
                                                    {"p", p}})));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

OpConverter GlobalPool(std::string reduce) {
  return [reduce](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, ctx.input(0), "input"));
    std::vector<int64_t> axes;
    for (int i = 2; i < rank; ++i) axes.push_back(i);
    KILN_ASSIGN_OR_RETURN(ValueRef y, Reduce(ctx, reduce, ctx.input(0), axes, true));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

Status BatchNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t training, ctx.Int("training_mode", 0));
  if (training) return ctx.Unsupported("training_mode 1 (kiln runs inference)");
  for (int i = 1; i < 5; ++i) {
    if (!ctx.has_input(i)) return InvalidArgument("input " + std::to_string(i) + " is missing");
  }
  KILN_ASSIGN_OR_RETURN(float eps, ctx.Float("epsilon", 1e-5f));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  // scale' = scale / sqrt(var + eps), shift = B - mean * scale', in float32, then x * scale' + shift.
  std::vector<ValueRef> p;
  for (int i = 1; i < 5; ++i) {
    KILN_ASSIGN_OR_RETURN(ValueRef v, CastTo(ctx, ctx.input(i), DType::kFloat32));
    p.push_back(v);
  }
  KILN_ASSIGN_OR_RETURN(ValueRef inv, Binary(ctx, "AddV2", p[3], ctx.ScalarOf(DType::kFloat32, eps)));
  KILN_ASSIGN_OR_RETURN(inv, Unary(ctx, "Rsqrt", inv));
  KILN_ASSIGN_OR_RETURN(ValueRef scale, Binary(ctx, "Mul", p[0], inv));
  KILN_ASSIGN_OR_RETURN(ValueRef shift, Binary(ctx, "Mul", p[2], scale));
  KILN_ASSIGN_OR_RETURN(shift, Binary(ctx, "Sub", p[1], shift));
  KILN_ASSIGN_OR_RETURN(scale, CastTo(ctx, scale, ctx.dtype(x)));
  KILN_ASSIGN_OR_RETURN(shift, CastTo(ctx, shift, ctx.dtype(x)));
  KILN_ASSIGN_OR_RETURN(scale, ChannelVector(ctx, scale, rank));
  KILN_ASSIGN_OR_RETURN(shift, ChannelVector(ctx, shift, rank));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", x, scale));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, shift));
  ctx.SetOutput(0, y);
  return OkStatus();
}

struct Normalized {
  ValueRef y, mean, inv_std;
};

// (x - mean) / sqrt(var + eps) over `axes`, with mean and 1/sqrt(var + eps) kept for outputs.
StatusOr<Normalized> Normalize(ConvertContext& ctx, ValueRef x, const std::vector<int64_t>& axes, float eps) {
  Normalized n;
  KILN_ASSIGN_OR_RETURN(n.mean, Reduce(ctx, "Mean", x, axes, true));
  KILN_ASSIGN_OR_RETURN(ValueRef d, Binary(ctx, "Sub", x, n.mean));
  KILN_ASSIGN_OR_RETURN(ValueRef var, Binary(ctx, "Mul", d, d));
  KILN_ASSIGN_OR_RETURN(var, Reduce(ctx, "Mean", var, axes, true));
  KILN_ASSIGN_OR_RETURN(var, Binary(ctx, "AddV2", var, ctx.ScalarOf(ctx.dtype(x), eps)));
  KILN_ASSIGN_OR_RETURN(n.inv_std, Unary(ctx, "Rsqrt", var));
  KILN_ASSIGN_OR_RETURN(n.y, Binary(ctx, "Mul", d, n.inv_std));
  return n;
}

Status LayerNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", -1));
  KILN_ASSIGN_OR_RETURN(float eps, ctx.Float("epsilon", 1e-5f));
  KILN_ASSIGN_OR_RETURN(int64_t stash, ctx.Int("stash_type", 1));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  KILN_ASSIGN_OR_RETURN(int axis, NormalizeAxis(axis_attr, rank));
  std::vector<int64_t> axes;
  for (int i = axis; i < rank; ++i) axes.push_back(i);
  // stash_type 1 computes the statistics in float32.
  const DType compute = stash == 1 ? DType::kFloat32 : ctx.dtype(x);
  KILN_ASSIGN_OR_RETURN(ValueRef xc, CastTo(ctx, x, compute));
  KILN_ASSIGN_OR_RETURN(Normalized n, Normalize(ctx, xc, axes, eps));
  KILN_ASSIGN_OR_RETURN(ValueRef y, CastTo(ctx, n.y, ctx.dtype(x)));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, ctx.input(1)));
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, ctx.input(2)));
  }
  ctx.SetOutput(0, y);
  ctx.SetOutput(1, n.mean);
  ctx.SetOutput(2, n.inv_std);
  return OkStatus();
}

Status InstanceNormalization(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float eps, ctx.Float("epsilon", 1e-5f));
  const ValueRef x = ctx.input(0);
  KILN_ASSIGN_OR_RETURN(int rank, KnownRank(ctx, x, "input"));
  std::vector<int64_t> axes;
  for (int i = 2; i < rank; ++i) axes.push_back(i);
  KILN_ASSIGN_OR_RETURN(Normalized n, Normalize(ctx, x, axes, eps));
  KILN_ASSIGN_OR_RETURN(ValueRef scale, ChannelVector(ctx, ctx.input(1), rank));
  KILN_ASSIGN_OR_RETURN(ValueRef bias, ChannelVector(ctx, ctx.input(2), rank));
  KILN_ASSIGN_OR_RETURN(ValueRef y, Binary(ctx, "Mul", n.y, scale));
  KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, bias));
  ctx.SetOutput(0, y);
  return OkStatus();
}

Status Gemm(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(float alpha, ctx.Float("alpha", 1.0f));
  KILN_ASSIGN_OR_RETURN(float beta, ctx.Float("beta", 1.0f));
  KILN_ASSIGN_OR_RETURN(int64_t trans_a, ctx.Int("transA", 0));
  KILN_ASSIGN_OR_RETURN(int64_t trans_b, ctx.Int("transB", 0));
  const ValueRef a = ctx.input(0);
  const DType t = ctx.dtype(a);
  KILN_ASSIGN_OR_RETURN(ValueRef y,
                        ctx.Op("MatMul", {a, ctx.input(1)},
                               Attrs({{"T", t}, {"transpose_a", trans_a != 0}, {"transpose_b", trans_b != 0}})));
  if (alpha != 1.0f) {
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "Mul", y, ctx.ScalarOf(t, alpha)));
  }
  if (ctx.has_input(2) && beta != 0.0f) {
    ValueRef c = ctx.input(2);
    if (beta != 1.0f) {
      KILN_ASSIGN_OR_RETURN(c, Binary(ctx, "Mul", c, ctx.ScalarOf(t, beta)));
    }
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, c));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

// numpy matmul: 1-D operands gain a dim that is dropped again; batch dims broadcast.
Status MatMul(ConvertContext& ctx) {
  ValueRef a = ctx.input(0), b = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int ra, KnownRank(ctx, a, "input A"));
  KILN_ASSIGN_OR_RETURN(int rb, KnownRank(ctx, b, "input B"));
  if (ra == 0 || rb == 0) return InvalidArgument("MatMul inputs must not be scalars");
  const DType t = ctx.dtype(a);
  auto expand = [&](ValueRef v, int64_t dim) {
    return ctx.Op("ExpandDims", {v, ctx.Int64Scalar(dim)}, Attrs({{"T", t}, {"Tdim", DType::kInt64}}));
  };
  if (ra == 1) {
    KILN_ASSIGN_OR_RETURN(a, expand(a, 0));
  }
  if (rb == 1) {
    KILN_ASSIGN_OR_RETURN(b, expand(b, -1));
  }
  ValueRef y;
  if (ra <= 2 && rb <= 2) {
    KILN_ASSIGN_OR_RETURN(y, ctx.Op("MatMul", {a, b}, Attrs({{"T", t}})));
  } else {
    KILN_ASSIGN_OR_RETURN(y, ctx.Op("BatchMatMulV2", {a, b}, Attrs({{"T", t}})));
  }
  std::vector<int64_t> squeeze;
  if (ra == 1) squeeze.push_back(-2);
  if (rb == 1) squeeze.push_back(-1);
  if (!squeeze.empty()) {
    KILN_ASSIGN_OR_RETURN(y, ctx.Op("Squeeze", {y}, Attrs({{"T", t}, {"squeeze_dims", squeeze}})));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

OpConverter SoftmaxOp(std::string op) {
  return [op](ConvertContext& ctx) -> Status {
    KILN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.Int("axis", -1));
    const ValueRef x = ctx.input(0);
    const int rank = ctx.rank(x);
    if (rank < 0 && axis_attr != -1) return ctx.Unsupported("an axis other than -1 on an input of unknown rank");
    if (rank == 0) return InvalidArgument("input must have rank >= 1");
    const int axis = rank < 0 ? -1 : static_cast<int>(axis_attr < 0 ? axis_attr + rank : axis_attr);
    if (rank >= 0 && (axis < 0 || axis >= rank)) {
      return InvalidArgument("axis " + std::to_string(axis_attr) + " is out of range for rank " + std::to_string(rank));
    }
    if (rank < 0 || axis == rank - 1) {
      KILN_ASSIGN_OR_RETURN(ValueRef y, ctx.Op(op, {x}, Attrs({{"T", ctx.dtype(x)}})));
      ctx.SetOutput(0, y);
      return OkStatus();
    }
    const std::vector<int64_t> perm = MoveAxisLastPerm(axis, rank);
    KILN_ASSIGN_OR_RETURN(ValueRef t, Transpose(ctx, x, perm));
    KILN_ASSIGN_OR_RETURN(t, ctx.Op(op, {t}, Attrs({{"T", ctx.dtype(x)}})));
    KILN_ASSIGN_OR_RETURN(ValueRef y, Transpose(ctx, t, InversePerm(perm)));
    ctx.SetOutput(0, y);
    return OkStatus();
  };
}

// numpy's implicit output ("ij,jk"): an ellipsis first when there is one, then the labels that
// occur once, in alphabetical order.
std::string WithImplicitOutput(const std::string& equation) {
  std::map<char, int> counts;
  for (char c : equation) {
    if (std::isalpha(static_cast<unsigned char>(c))) ++counts[c];
  }
  std::string out = equation.find("...") != std::string::npos ? "..." : "";
  for (const auto& [c, n] : counts) {
    if (n == 1) out += c;
  }
  return equation + "->" + out;
}

Status Einsum(ConvertContext& ctx) {
  KILN_ASSIGN_OR_RETURN(std::string equation, ctx.String("equation"));
  if (equation.find("->") == std::string::npos) equation = WithImplicitOutput(equation);
  std::vector<ValueRef> inputs;
  for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input(i));
  KILN_ASSIGN_OR_RETURN(
      ValueRef y,
      ctx.Op(
          "Einsum", inputs,
          Attrs({{"T", ctx.dtype(ctx.input(0))}, {"equation", equation}, {"N", static_cast<int64_t>(inputs.size())}})));
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("Conv", Conv);
KILN_REGISTER_ONNX_OP("MaxPool", Pool("max"));
KILN_REGISTER_ONNX_OP("AveragePool", Pool("avg"));
KILN_REGISTER_ONNX_OP("LpPool", Pool("lp"));
KILN_REGISTER_ONNX_OP("GlobalAveragePool", GlobalPool("Mean"));
KILN_REGISTER_ONNX_OP("GlobalMaxPool", GlobalPool("Max"));
KILN_REGISTER_ONNX_OP("BatchNormalization", BatchNormalization);
KILN_REGISTER_ONNX_OP("LayerNormalization", LayerNormalization);
KILN_REGISTER_ONNX_OP("InstanceNormalization", InstanceNormalization);
KILN_REGISTER_ONNX_OP("Gemm", Gemm);
KILN_REGISTER_ONNX_OP("MatMul", MatMul);
KILN_REGISTER_ONNX_OP("Softmax", SoftmaxOp("Softmax"));
KILN_REGISTER_ONNX_OP("LogSoftmax", SoftmaxOp("LogSoftmax"));
KILN_REGISTER_ONNX_OP("Einsum", Einsum);

}  // namespace kiln::onnx
