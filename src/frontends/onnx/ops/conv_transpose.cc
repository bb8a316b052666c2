// ONNX ConvTranspose on 1-D and 2-D inputs through the IR's Conv2DBackpropInput (channels first,
// filter [kh, kw, out, in]); 1-D gains a unit width, groups are split and concatenated.
// Output positions the kernel's window cannot reach (negative begin pads, output_padding past
// the last contribution) are zeros, so they are added with PadV2 around the core result.
#include <algorithm>

#include "frontends/onnx/ops/common.h"

namespace kiln::onnx {
namespace {

using ir::ValueRef;

// Floor division, as ONNX's reference computes auto pads (total may be negative).
int64_t FloorDiv2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

// One spatial dim of the transposed convolution, resolved to Conv2DBackpropInput's terms.
struct TransposedDim {
  int64_t in = 0, kernel = 0, stride = 1, dilation = 1;
  int64_t core = 0;                       // the size Conv2DBackpropInput produces
  int64_t pad_before = 0, pad_after = 0;  // its explicit paddings
  int64_t zeros_before = 0, zeros_after = 0;
};

// pb/pe are ONNX's begin/end pads; out = s*(in-1) + output_padding + eff - pb - pe.
StatusOr<TransposedDim> Resolve(TransposedDim d, int64_t pb, int64_t pe, int64_t output_padding) {
  const int64_t eff = (d.kernel - 1) * d.dilation + 1;
  const int64_t out = d.stride * (d.in - 1) + output_padding + eff - pb - pe;
  if (d.in <= 0 || out <= 0) return InvalidArgument("the input or the output (after pads) is empty");
  d.zeros_before = std::max<int64_t>(-pb, 0);
  d.pad_before = std::max<int64_t>(pb, 0);
  // Positions [0, reach) after the cropped front receive contributions.
  const int64_t reach = d.stride * (d.in - 1) + eff - d.pad_before;
  const int64_t rest = out - d.zeros_before;
  if (rest <= 0 || reach <= 0) return InvalidArgument("pads leave no output");
  d.core = std::min(rest, reach);
  d.pad_after = reach - d.core;
  d.zeros_after = rest - d.core;
  return d;
}

StatusOr<std::vector<int64_t>> ListAttr(const ConvertContext& ctx, const std::string& name, size_t n, int64_t fill) {
  KILN_ASSIGN_OR_RETURN(auto v, ctx.Ints(name, std::vector<int64_t>(n, fill)));
  if (v.empty()) v.assign(n, fill);
  if (v.size() != n) {
    return InvalidArgument(name + " has " + std::to_string(v.size()) + " entries; " + std::to_string(n) + " expected");
  }
  return v;
}

Status ConvTranspose(ConvertContext& ctx) {
  ValueRef x = ctx.input(0), w = ctx.input(1);
  KILN_ASSIGN_OR_RETURN(int wrank, KnownRank(ctx, w, "weights"));
  const int spatial = wrank - 2;
  if (spatial != 1 && spatial != 2) {
    return ctx.Unsupported(std::to_string(spatial) + " spatial dims (1-D and 2-D only)");
  }
  const PartialShape& xs = ctx.shape(x);
  const PartialShape& ws = ctx.shape(w);
  if (!xs.rank_known || xs.rank() != wrank) return InvalidArgument("input and weights ranks differ");
  KILN_ASSIGN_OR_RETURN(int64_t group, ctx.Int("group", 1));
  KILN_ASSIGN_OR_RETURN(std::string auto_pad, ctx.String("auto_pad", "NOTSET"));
  const size_t n = static_cast<size_t>(spatial);
  KILN_ASSIGN_OR_RETURN(auto strides, ListAttr(ctx, "strides", n, 1));
  KILN_ASSIGN_OR_RETURN(auto dilations, ListAttr(ctx, "dilations", n, 1));
  KILN_ASSIGN_OR_RETURN(auto output_padding, ListAttr(ctx, "output_padding", n, 0));
  KILN_ASSIGN_OR_RETURN(auto pads, ListAttr(ctx, "pads", 2 * n, 0));
  std::vector<int64_t> output_shape;
  if (ctx.has_attr("output_shape")) {
    KILN_ASSIGN_OR_RETURN(output_shape, ctx.Ints("output_shape"));
    // Some exporters give the full [N, M, spatial...] shape.
    if (output_shape.size() == n + 2) output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
    if (output_shape.size() != n) return InvalidArgument("output_shape must have one entry per spatial dim");
  }
  KILN_ASSIGN_OR_RETURN(auto kernel_attr, ctx.Ints("kernel_shape", std::vector<int64_t>{}));

  std::vector<TransposedDim> dims;
  for (int i = 0; i < spatial; ++i) {
    TransposedDim d;
    d.in = xs.dims[2 + i];
    d.kernel = ws.rank_known ? ws.dims[2 + i] : -1;
    d.stride = strides[i];
    d.dilation = dilations[i];
    if (d.in < 0) return ctx.Unsupported("an input of unknown spatial size");
    if (d.kernel < 0) return ctx.Unsupported("weights of unknown kernel size");
    if (!kernel_attr.empty() && (kernel_attr.size() != n || kernel_attr[i] != d.kernel)) {
      return InvalidArgument("kernel_shape does not match the weights' shape " + ws.ToString());
    }
    if (d.stride <= 0 || d.dilation <= 0) return InvalidArgument("strides and dilations must be positive");
    const int64_t eff = (d.kernel - 1) * d.dilation + 1;
    int64_t pb = pads[i], pe = pads[n + i];
    if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t target = output_shape.empty() ? d.in * d.stride : output_shape[i];
      const int64_t total = d.stride * (d.in - 1) + output_padding[i] + eff - target;
      const int64_t half = FloorDiv2(total);
      pb = auto_pad == "SAME_UPPER" ? half : total - half;
      pe = total - pb;
    } else if (auto_pad == "VALID") {
      pb = pe = 0;
    } else if (auto_pad != "NOTSET") {
      return InvalidArgument("unknown auto_pad '" + auto_pad + "'");
    }
    KILN_ASSIGN_OR_RETURN(d, Resolve(d, pb, pe, output_padding[i]));
    dims.push_back(d);
  }

  const DType t = ctx.dtype(x);
  if (spatial == 1) {
    // A unit trailing dim makes it 2-D.
    for (ValueRef* v : {&x, &w}) {
      KILN_ASSIGN_OR_RETURN(
          *v, ctx.Op("ExpandDims", {*v, ctx.Int64Scalar(-1)}, Attrs({{"T", t}, {"Tdim", DType::kInt64}})));
    }
    TransposedDim unit;
    unit.in = unit.kernel = unit.core = 1;
    dims.push_back(unit);
  }

  const int64_t c = xs.dims[1];
  if (group < 1) return InvalidArgument("group must be positive");
  if (group > 1 && c < 0) return ctx.Unsupported("group > 1 with an unknown channel count");
  if (c >= 0 && c % group != 0) return InvalidArgument("input channels do not divide by group");
  std::vector<ValueRef> xg = {x}, wg = {w};
  if (group > 1) {
    auto split = [&](ValueRef v, int64_t axis) {
      return ctx.OpN("Split", {ctx.Int64Scalar(axis), v}, Attrs({{"T", t}, {"num_split", group}}),
                     static_cast<int>(group));
    };
    KILN_ASSIGN_OR_RETURN(xg, split(x, 1));
    KILN_ASSIGN_OR_RETURN(wg, split(w, 0));
  }
  const std::vector<int64_t> explicit_pads = {
      0, 0, 0, 0, dims[0].pad_before, dims[0].pad_after, dims[1].pad_before, dims[1].pad_after};
  std::vector<ValueRef> parts;
  for (int64_t g = 0; g < group; ++g) {
    KILN_ASSIGN_OR_RETURN(ValueRef filter, Transpose(ctx, wg[g], {2, 3, 1, 0}));
    const ValueRef sizes = ctx.Ints({dims[0].core, dims[1].core});
    KILN_ASSIGN_OR_RETURN(ValueRef y,
                          ctx.Op("Conv2DBackpropInput", {sizes, filter, xg[g]},
                                 Attrs({{"T", t},
                                        {"strides", std::vector<int64_t>{1, 1, dims[0].stride, dims[1].stride}},
                                        {"dilations", std::vector<int64_t>{1, 1, dims[0].dilation, dims[1].dilation}},
                                        {"padding", std::string("EXPLICIT")},
                                        {"explicit_paddings", explicit_pads},
                                        {"data_format", std::string("NCHW")}})));
    parts.push_back(y);
  }
  ValueRef y = parts[0];
  if (group > 1) {
    KILN_ASSIGN_OR_RETURN(y, Concat(ctx, parts, 1));
  }
  if (dims[0].zeros_before || dims[0].zeros_after || dims[1].zeros_before || dims[1].zeros_after) {
    const std::vector<int64_t> zeros = {
        0, 0, 0, 0, dims[0].zeros_before, dims[0].zeros_after, dims[1].zeros_before, dims[1].zeros_after};
    KILN_ASSIGN_OR_RETURN(
        y, ctx.Op("PadV2", {y, ctx.Const(Tensor::FromVector<int64_t>({4, 2}, zeros)), ctx.ScalarOf(t, 0)},
                  Attrs({{"T", t}, {"Tpaddings", DType::kInt64}})));
  }
  if (spatial == 1) {
    KILN_ASSIGN_OR_RETURN(y, ctx.Op("Squeeze", {y}, Attrs({{"T", t}, {"squeeze_dims", std::vector<int64_t>{-1}}})));
  }
  if (ctx.has_input(2)) {
    KILN_ASSIGN_OR_RETURN(ValueRef bias, ChannelVector(ctx, ctx.input(2), spatial + 2));
    KILN_ASSIGN_OR_RETURN(y, Binary(ctx, "AddV2", y, bias));
  }
  ctx.SetOutput(0, y);
  return OkStatus();
}

}  // namespace

KILN_REGISTER_ONNX_OP("ConvTranspose", ConvTranspose);

}  // namespace kiln::onnx
