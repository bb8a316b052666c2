// TensorFlow's TensorList ops (src/runtime/tensor_list.h). A list is a variant scalar; an op
// that reads items gives them the element shape its element_shape input states (when constant).
#include "ir/op_registry.h"
#include "ir/shape_fns.h"

namespace kiln::ir {
namespace {

// The element shape input `i` states: a constant scalar -1 (unknown rank) or vector (-1 for an
// unknown dim); unknown when the input is not constant.
PartialShape ElementShape(const InferenceContext& ctx, int i) {
  const Tensor* t = ctx.input_value(i);
  if (t == nullptr || t->rank() > 1) return PartialShape::Unknown();
  auto dims = t->ToInt64Vector();
  if (!dims.ok() || t->rank() == 0) return PartialShape::Unknown();
  return PartialShape::Known(*dims);
}

Status ListOutput(InferenceContext& ctx) {
  ctx.set_output(0, DType::kVariant, PartialShape::Known({}));
  return OkStatus();
}

Status ExpectList(const InferenceContext& ctx, int i) {
  if (ctx.input_dtype(i) != DType::kVariant) {
    return InvalidArgument("input " + std::to_string(i) + " must be a tensor list, got " +
                           std::string(DTypeName(ctx.input_dtype(i))));
  }
  return OkStatus();
}

// TensorListGetItem(list, index, element_shape), TensorListPopBack(list, element_shape) -> item
Status ItemShape(InferenceContext& ctx, int shape_input, int item_output) {
  KILN_RETURN_IF_ERROR(ExpectList(ctx, 0));
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("element_dtype"));
  ctx.set_output(item_output, dtype, ElementShape(ctx, shape_input));
  return OkStatus();
}

// TensorListStack(list, element_shape), TensorListGather(list, indices, element_shape)
Status StackedShape(InferenceContext& ctx, int shape_input, int64_t count) {
  KILN_RETURN_IF_ERROR(ExpectList(ctx, 0));
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("element_dtype"));
  const PartialShape element = ElementShape(ctx, shape_input);
  PartialShape out = PartialShape::Unknown();
  if (element.rank_known) {
    out = PartialShape::Known({count});
    out.dims.insert(out.dims.end(), element.dims.begin(), element.dims.end());
  }
  ctx.set_output(0, dtype, out);
  return OkStatus();
}

Status FromTensorShape(InferenceContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("element_dtype"));
  if (ctx.input_dtype(0) != dtype) {
    return InvalidArgument("the tensor is " + std::string(DTypeName(ctx.input_dtype(0))) + " but element_dtype is " +
                           std::string(DTypeName(dtype)));
  }
  if (ctx.input_shape(0).rank() == 0) return InvalidArgument("a scalar cannot be split into a list");
  return ListOutput(ctx);
}

Status ListInScalarOut(InferenceContext& ctx, DType dtype) {
  KILN_RETURN_IF_ERROR(ExpectList(ctx, 0));
  ctx.set_output(0, dtype, PartialShape::Known({}));
  return OkStatus();
}

Status ListInListOut(InferenceContext& ctx) {
  KILN_RETURN_IF_ERROR(ExpectList(ctx, 0));
  return ListOutput(ctx);
}

}  // namespace

KILN_REGISTER_OP(OpDefBuilder("TensorListReserve")
                     .Attr("element_dtype")
                     .Attr("shape_type", DType::kInt32)
                     .Output("handle")
                     .Shape(ListOutput));
KILN_REGISTER_OP(OpDefBuilder("EmptyTensorList")
                     .Attr("element_dtype")
                     .Attr("shape_type", DType::kInt32)
                     .Output("handle")
                     .Shape(ListOutput));
KILN_REGISTER_OP(OpDefBuilder("TensorListFromTensor")
                     .Attr("element_dtype")
                     .Attr("shape_type", DType::kInt32)
                     .Output("output_handle")
                     .Shape(FromTensorShape));
KILN_REGISTER_OP(OpDefBuilder("TensorListGetItem")
                     .Attr("element_dtype")
                     .Attr("Tshape", DType::kInt32)
                     .Output("item")
                     .Shape([](InferenceContext& c) { return ItemShape(c, 2, 0); }));
KILN_REGISTER_OP(OpDefBuilder("TensorListSetItem")
                     .Attr("element_dtype")
                     .Attr("resize_if_index_out_of_bounds", false)
                     .Output("output_handle")
                     .Shape(ListInListOut));
KILN_REGISTER_OP(OpDefBuilder("TensorListPushBack")
                     .Attr("element_dtype")
                     .Output("output_handle")
                     .Shape(ListInListOut));
KILN_REGISTER_OP(OpDefBuilder("TensorListPopBack")
                     .Attr("element_dtype")
                     .Output("output_handle")
                     .Output("tensor")
                     .Shape([](InferenceContext& c) -> Status {
                       KILN_RETURN_IF_ERROR(ItemShape(c, 1, 1));
                       c.set_output(0, DType::kVariant, PartialShape::Known({}));
                       return OkStatus();
                     }));
KILN_REGISTER_OP(OpDefBuilder("TensorListResize").Output("output_handle").Shape(ListInListOut));
KILN_REGISTER_OP(OpDefBuilder("TensorListStack")
                     .Attr("element_dtype")
                     .Attr("num_elements", int64_t{-1})
                     .Output("tensor")
                     .Shape([](InferenceContext& c) -> Status {
                       KILN_ASSIGN_OR_RETURN(int64_t n, c.Attr<int64_t>("num_elements"));
                       return StackedShape(c, 1, n);
                     }));
KILN_REGISTER_OP(OpDefBuilder("TensorListGather")
                     .Attr("element_dtype")
                     .Output("values")
                     .Shape([](InferenceContext& c) -> Status {
                       const PartialShape& indices = c.input_shape(1);
                       return StackedShape(c, 2, indices.rank() == 1 ? indices.dims[0] : -1);
                     }));
KILN_REGISTER_OP(OpDefBuilder("TensorListLength").Output("length").Shape([](InferenceContext& c) {
  return ListInScalarOut(c, DType::kInt32);
}));
KILN_REGISTER_OP(OpDefBuilder("TensorListElementShape")
                     .Attr("shape_type", DType::kInt32)
                     .Output("element_shape")
                     .Shape([](InferenceContext& c) -> Status {
                       KILN_RETURN_IF_ERROR(ExpectList(c, 0));
                       KILN_ASSIGN_OR_RETURN(DType t, c.Attr<DType>("shape_type"));
                       c.set_output(0, t, PartialShape::Unknown());
                       return OkStatus();
                     }));

}  // namespace kiln::ir
