// Convolutions and pooling: Conv2D, Conv3D, Conv, DepthwiseConv2dNative, Conv2DBackpropInput,
// MaxPool, MaxPoolV2, AvgPool.
#include "ir/op_registry.h"
#include "ir/ops/conv_geometry.h"
#include "ir/ops/fused_ops.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

int64_t DimOf(const PartialShape& s, int i) { return s.rank_known ? s.dims[i] : -1; }

Status ExpectRank(const PartialShape& s, int rank, const std::string& what) {
  if (s.rank_known && s.rank() != rank) {
    return InvalidArgument(what + " must have rank " + std::to_string(rank) + ", got shape " + s.ToString());
  }
  return OkStatus();
}

Status ExpectSameDType(const InferenceContext& ctx, int a, int b) {
  if (ctx.input_dtype(a) != ctx.input_dtype(b)) {
    return InvalidArgument("input " + std::to_string(b) + " has dtype " + std::string(DTypeName(ctx.input_dtype(b))) +
                           " but input " + std::to_string(a) + " has " + std::string(DTypeName(ctx.input_dtype(a))));
  }
  return OkStatus();
}

// Output shape [batch..., out spatial..., channels] (or channels first) of a window op.
StatusOr<PartialShape> WindowOutputShape(const PartialShape& input, int batch_dims, int spatial_rank,
                                         const std::vector<int64_t>& kernel, const WindowSpec& spec,
                                         int64_t out_channels) {
  const int first_spatial = batch_dims + (spec.channels_first ? 1 : 0);
  std::vector<int64_t> dims;
  for (int i = 0; i < batch_dims; ++i) dims.push_back(DimOf(input, i));
  std::vector<int64_t> spatial;
  for (int i = 0; i < spatial_rank; ++i) {
    KILN_ASSIGN_OR_RETURN(WindowDim w, ComputeWindowDim(DimOf(input, first_spatial + i), kernel[i], spec, i));
    spatial.push_back(w.out);
  }
  if (spec.channels_first) dims.push_back(out_channels);
  dims.insert(dims.end(), spatial.begin(), spatial.end());
  if (!spec.channels_first) dims.push_back(out_channels);
  return PartialShape::Known(std::move(dims));
}

// Conv2D (spatial_rank 2), Conv3D (3) and Conv (spatial rank from the filter, batch_dims attr).
Status ConvShape(InferenceContext& ctx, int spatial_rank, bool generic) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, 1));
  const DType dtype = ctx.input_dtype(0);
  const PartialShape& input = ctx.input_shape(0);
  const PartialShape& filter = ctx.input_shape(1);
  int64_t batch_dims = 1, groups = 1;
  if (generic) {
    KILN_ASSIGN_OR_RETURN(batch_dims, ctx.Attr<int64_t>("batch_dims"));
    KILN_ASSIGN_OR_RETURN(groups, ctx.Attr<int64_t>("groups"));
    if (batch_dims < 1) return InvalidArgument("batch_dims must be at least 1, got " + std::to_string(batch_dims));
    if (groups < 1) return InvalidArgument("groups must be at least 1, got " + std::to_string(groups));
    if (filter.rank_known) {
      spatial_rank = filter.rank() - 2;
    } else if (input.rank_known) {
      spatial_rank = input.rank() - static_cast<int>(batch_dims) - 1;
    } else {
      ctx.set_output(0, dtype, PartialShape::Unknown());
      return OkStatus();
    }
    if (spatial_rank < 1 || spatial_rank > 3) {
      return InvalidArgument("Conv supports 1 to 3 spatial dimensions, got filter shape " + filter.ToString());
    }
  }
  KILN_RETURN_IF_ERROR(ExpectRank(input, static_cast<int>(batch_dims) + spatial_rank + 1, "input"));
  KILN_RETURN_IF_ERROR(ExpectRank(filter, spatial_rank + 2, "filter"));
  KILN_ASSIGN_OR_RETURN(WindowSpec spec, ParseWindowSpec(ctx.attrs(), spatial_rank));
  const int channel_axis = spec.channels_first ? static_cast<int>(batch_dims) : input.rank() - 1;
  const int64_t in_c = input.rank_known ? input.dims[channel_axis] : -1;
  const int64_t filter_in = DimOf(filter, spatial_rank), out_c = DimOf(filter, spatial_rank + 1);
  if (in_c >= 0 && filter_in >= 0) {
    if (filter_in == 0 || in_c % filter_in != 0) {
      return InvalidArgument("input depth " + std::to_string(in_c) + " is not a multiple of the filter's input depth " +
                             std::to_string(filter_in) + " (input " + input.ToString() + ", filter " +
                             filter.ToString() + ")");
    }
    if (generic && in_c != filter_in * groups) {
      return InvalidArgument("input depth " + std::to_string(in_c) + " must equal the filter's input depth " +
                             std::to_string(filter_in) + " times groups " + std::to_string(groups));
    }
    if (out_c >= 0 && out_c % (in_c / filter_in) != 0) {
      return InvalidArgument("filter output depth " + std::to_string(out_c) + " is not a multiple of the group count " +
                             std::to_string(in_c / filter_in));
    }
  }
  std::vector<int64_t> kernel(spatial_rank);
  for (int i = 0; i < spatial_rank; ++i) kernel[i] = DimOf(filter, i);
  KILN_ASSIGN_OR_RETURN(PartialShape out,
                        WindowOutputShape(input, static_cast<int>(batch_dims), spatial_rank, kernel, spec, out_c));
  ctx.set_output(0, dtype, std::move(out));
  return OkStatus();
}

Status DepthwiseConvShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(2, 2));
  KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 0, 1));
  const PartialShape& input = ctx.input_shape(0);
  const PartialShape& filter = ctx.input_shape(1);
  KILN_RETURN_IF_ERROR(ExpectRank(input, 4, "input"));
  KILN_RETURN_IF_ERROR(ExpectRank(filter, 4, "filter"));
  KILN_ASSIGN_OR_RETURN(WindowSpec spec, ParseWindowSpec(ctx.attrs(), 2));
  const int64_t in_c = DimOf(input, spec.channels_first ? 1 : 3);
  const int64_t filter_c = DimOf(filter, 2), multiplier = DimOf(filter, 3);
  if (in_c >= 0 && filter_c >= 0 && in_c != filter_c) {
    return InvalidArgument("input depth " + std::to_string(in_c) + " does not match the filter's depth " +
                           std::to_string(filter_c) + " (input " + input.ToString() + ", filter " + filter.ToString() +
                           ")");
  }
  const int64_t c = in_c >= 0 ? in_c : filter_c;
  const int64_t out_c = c >= 0 && multiplier >= 0 ? c * multiplier : -1;
  KILN_ASSIGN_OR_RETURN(PartialShape out,
                        WindowOutputShape(input, 1, 2, {DimOf(filter, 0), DimOf(filter, 1)}, spec, out_c));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return OkStatus();
}

Status Conv2DBackpropInputShape(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ctx.ExpectInputs(3, 3));
  KILN_RETURN_IF_ERROR(ExpectSameDType(ctx, 1, 2));
  const PartialShape& sizes = ctx.input_shape(0);
  const PartialShape& filter = ctx.input_shape(1);
  const PartialShape& grad = ctx.input_shape(2);
  if (!IsInteger(ctx.input_dtype(0))) return InvalidArgument("input_sizes must be an integer tensor");
  KILN_RETURN_IF_ERROR(ExpectRank(sizes, 1, "input_sizes"));
  KILN_RETURN_IF_ERROR(ExpectRank(filter, 4, "filter"));
  KILN_RETURN_IF_ERROR(ExpectRank(grad, 4, "out_backprop"));
  KILN_ASSIGN_OR_RETURN(WindowSpec spec, ParseWindowSpec(ctx.attrs(), 2));
  const int c_axis = spec.channels_first ? 1 : 3, h_axis = spec.channels_first ? 2 : 1;
  std::vector<int64_t> dims(4, -1);
  dims[0] = DimOf(grad, 0);
  dims[c_axis] = DimOf(filter, 2);
  KILN_ASSIGN_OR_RETURN(auto values, ConstantInt64s(ctx, 0));
  if (values) {
    if (values->size() == 4) {
      dims = *values;
    } else if (values->size() == 2) {
      dims[h_axis] = (*values)[0];
      dims[h_axis + 1] = (*values)[1];
    } else {
      return InvalidArgument("input_sizes must have 2 or 4 elements, got " + std::to_string(values->size()));
    }
    for (int64_t d : dims) {
      if (d < -1) return InvalidArgument("input_sizes must be non-negative");
    }
    if (dims[c_axis] >= 0 && DimOf(filter, 2) >= 0 && dims[c_axis] != DimOf(filter, 2)) {
      return InvalidArgument("input_sizes depth " + std::to_string(dims[c_axis]) + " does not match the filter's " +
                             "input depth " + std::to_string(DimOf(filter, 2)) +
                             " (grouped transposed convolution is not supported)");
    }
  }
  ctx.set_output(0, ctx.input_dtype(1), PartialShape::Known(std::move(dims)));
  return OkStatus();
}

// MaxPool, AvgPool (ksize/strides attrs) and MaxPoolV2 (ksize/strides inputs 1 and 2); MaxPool may
// carry an epilogue (ir/ops/fused_ops.h).
Status PoolShape(InferenceContext& ctx, bool window_from_inputs) {
  const bool epilogue = ctx.node().op == "MaxPool";
  if (!epilogue) KILN_RETURN_IF_ERROR(ctx.ExpectInputs(window_from_inputs ? 3 : 1, window_from_inputs ? 3 : 1));
  const PartialShape& input = ctx.input_shape(0);
  KILN_RETURN_IF_ERROR(ExpectRank(input, 4, "input"));
  AttrMap attrs = ctx.attrs();
  if (window_from_inputs) {
    KILN_ASSIGN_OR_RETURN(auto ksize, ConstantInt64s(ctx, 1));
    KILN_ASSIGN_OR_RETURN(auto strides, ConstantInt64s(ctx, 2));
    if (!ksize || !strides) {
      KILN_ASSIGN_OR_RETURN(bool channels_first, ParseChannelsFirst(attrs));
      const int c = channels_first ? 1 : 3;
      std::vector<int64_t> dims(4, -1);
      dims[0] = DimOf(input, 0);
      dims[c] = DimOf(input, c);
      ctx.set_output(0, ctx.input_dtype(0), PartialShape::Known(std::move(dims)));
      return OkStatus();
    }
    attrs.Set("ksize", *ksize);
    attrs.Set("strides", *strides);
  }
  KILN_ASSIGN_OR_RETURN(WindowSpec spec, ParseWindowSpec(attrs, 2));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize_full, attrs.Get<std::vector<int64_t>>("ksize"));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> ksize, SpatialEntries(ksize_full, 2, spec.channels_first, "ksize"));
  const int64_t channels = DimOf(input, spec.channels_first ? 1 : 3);
  if (epilogue) KILN_RETURN_IF_ERROR(CheckPoolEpilogue(ctx, channels));
  KILN_ASSIGN_OR_RETURN(PartialShape out, WindowOutputShape(input, 1, 2, ksize, spec, channels));
  ctx.set_output(0, ctx.input_dtype(0), std::move(out));
  return OkStatus();
}

const std::vector<int64_t> kUnitDilations4 = {1, 1, 1, 1};

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("Conv2D")
                     .Attr("T", DType::kFloat32)
                     .Attr("strides")
                     .Attr("use_cudnn_on_gpu", true)
                     .Attr("padding")
                     .Attr("explicit_paddings", std::vector<int64_t>{})
                     .Attr("data_format", std::string("NHWC"))
                     .Attr("dilations", kUnitDilations4)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return ConvShape(ctx, 2, false); }));
KILN_REGISTER_OP(OpDefBuilder("Conv3D")
                     .Attr("T", DType::kFloat32)
                     .Attr("strides")
                     .Attr("padding")
                     .Attr("data_format", std::string("NDHWC"))
                     .Attr("dilations", std::vector<int64_t>{1, 1, 1, 1, 1})
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return ConvShape(ctx, 3, false); }));
KILN_REGISTER_OP(OpDefBuilder("Conv")
                     .Attr("T", DType::kFloat32)
                     .Attr("strides")
                     .Attr("padding")
                     .Attr("explicit_paddings", std::vector<int64_t>{})
                     .Attr("data_format", std::string("CHANNELS_LAST"))
                     .Attr("dilations", std::vector<int64_t>{})
                     .Attr("batch_dims", int64_t{1})
                     .Attr("groups", int64_t{1})
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return ConvShape(ctx, -1, true); }));
KILN_REGISTER_OP(OpDefBuilder("DepthwiseConv2dNative")
                     .Attr("T", DType::kFloat32)
                     .Attr("strides")
                     .Attr("padding")
                     .Attr("explicit_paddings", std::vector<int64_t>{})
                     .Attr("data_format", std::string("NHWC"))
                     .Attr("dilations", kUnitDilations4)
                     .Output("output")
                     .Shape(DepthwiseConvShape));
KILN_REGISTER_OP(OpDefBuilder("Conv2DBackpropInput")
                     .Attr("T", DType::kFloat32)
                     .Attr("strides")
                     .Attr("use_cudnn_on_gpu", true)
                     .Attr("padding")
                     .Attr("explicit_paddings", std::vector<int64_t>{})
                     .Attr("data_format", std::string("NHWC"))
                     .Attr("dilations", kUnitDilations4)
                     .Output("output")
                     .Shape(Conv2DBackpropInputShape));
KILN_REGISTER_OP(OpDefBuilder("MaxPool")
                     .Attr("T", DType::kFloat32)
                     .Attr("ksize")
                     .Attr("strides")
                     .Attr("padding")
                     .Attr("explicit_paddings", std::vector<int64_t>{})
                     .Attr("data_format", std::string("NHWC"))
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return PoolShape(ctx, false); }));
KILN_REGISTER_OP(OpDefBuilder("MaxPoolV2")
                     .Attr("T", DType::kFloat32)
                     .Attr("padding")
                     .Attr("data_format", std::string("NHWC"))
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return PoolShape(ctx, true); }));
KILN_REGISTER_OP(OpDefBuilder("AvgPool")
                     .Attr("ksize")
                     .Attr("strides")
                     .Attr("padding")
                     .Attr("data_format", std::string("NHWC"))
                     .Attr("T", DType::kFloat32)
                     .Output("output")
                     .Shape([](InferenceContext& ctx) { return PoolShape(ctx, false); }));

}  // namespace kiln::ir
