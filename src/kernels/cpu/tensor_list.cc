// TensorFlow's TensorList ops on the host (src/ir/ops/tensor_list_ops.cc). Items share their
// buffers with the tensors they came from; a list op that changes a list makes a new one.
#include <cstring>

#include "kiln/limits.h"
#include "runtime/kernel.h"
#include "runtime/tensor_list.h"

namespace kiln::kernels::cpu {
namespace {

using runtime::KernelContext;
using runtime::TensorList;

// A list length read from a file or computed by the model, checked before anything is allocated
// for it (each item slot costs a Tensor).
StatusOr<int64_t> CheckedLength(const Tensor& t, const std::string& what) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, t.ToInt64Vector());
  if (v.size() != 1) return InvalidArgument(what + " must be a scalar, got " + t.DebugString());
  const uint64_t limit = MaxTensorBytes() / sizeof(Tensor);
  if (v[0] < 0 || static_cast<uint64_t>(v[0]) > limit) {
    return InvalidArgument(what + " is " + std::to_string(v[0]) + "; it must be in [0, " + std::to_string(limit) + "]");
  }
  return v[0];
}

StatusOr<int64_t> CheckedIndex(const Tensor& t, const TensorList& list) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> v, t.ToInt64Vector());
  if (v.size() != 1) return InvalidArgument("the index must be a scalar, got " + t.DebugString());
  if (v[0] < 0 || v[0] >= static_cast<int64_t>(list.items.size())) {
    return InvalidArgument("index " + std::to_string(v[0]) + " is outside the list of " +
                           std::to_string(list.items.size()) + " items");
  }
  return v[0];
}

Status CheckDType(const TensorList& list, const KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("element_dtype"));
  if (list.element_dtype != dtype) {
    return InvalidArgument("the list holds " + std::string(DTypeName(list.element_dtype)) +
                           " items but the op reads " + std::string(DTypeName(dtype)));
  }
  return OkStatus();
}

// Item `i` of `list`; an item never set is zeros of the element shape, which must then be known.
StatusOr<Tensor> Item(const TensorList& list, int64_t i, const PartialShape& asked) {
  if (list.items[i].valid()) return list.items[i];
  KILN_ASSIGN_OR_RETURN(PartialShape shape, runtime::MergeElementShapes(list.element_shape, asked));
  if (!shape.IsFullyDefined()) {
    return InvalidArgument("item " + std::to_string(i) + " was never set and its shape " + shape.ToString() +
                           " is not fully known");
  }
  return Tensor(list.element_dtype, shape.dims);
}

Status CheckItem(const TensorList& list, const Tensor& item) {
  if (item.dtype() != list.element_dtype || !list.element_shape.Accepts(item.shape())) {
    return InvalidArgument("the item is " + item.DebugString() + " but the list holds " +
                           std::string(DTypeName(list.element_dtype)) + " " + list.element_shape.ToString());
  }
  return OkStatus();
}

// Items stacked along a new first axis, all of one shape.
StatusOr<Tensor> StackItems(const std::vector<Tensor>& items, const TensorList& list, const PartialShape& asked) {
  if (items.empty()) {
    KILN_ASSIGN_OR_RETURN(PartialShape shape, runtime::MergeElementShapes(list.element_shape, asked));
    if (!shape.IsFullyDefined()) {
      return InvalidArgument("the list is empty and its element shape " + shape.ToString() + " is not fully known");
    }
    Shape out = {0};
    out.insert(out.end(), shape.dims.begin(), shape.dims.end());
    return Tensor(list.element_dtype, out);
  }
  Shape out = items[0].shape();
  out.insert(out.begin(), static_cast<int64_t>(items.size()));
  if (list.element_dtype == DType::kString || list.element_dtype == DType::kVariant) {
    return Unimplemented("stacking lists of " + std::string(DTypeName(list.element_dtype)) + " items");
  }
  Tensor stacked = Tensor::Empty(list.element_dtype, out);
  char* dst = static_cast<char*>(stacked.raw_data());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].shape() != items[0].shape()) {
      return InvalidArgument("item " + std::to_string(i) + " is " + items[i].DebugString() + " but item 0 is " +
                             items[0].DebugString() + "; stacked items must agree");
    }
    if (!items[i].on_host()) return InvalidArgument("item " + std::to_string(i) + " is not on the host");
    std::memcpy(dst, items[i].raw_data(), items[i].byte_size());
    dst += items[i].byte_size();
  }
  return stacked;
}

Status Reserve(KernelContext& ctx) {
  TensorList list;
  KILN_ASSIGN_OR_RETURN(list.element_dtype, ctx.Attr<DType>("element_dtype"));
  KILN_ASSIGN_OR_RETURN(list.element_shape, runtime::ElementShapeFromTensor(ctx.input(0)));
  KILN_ASSIGN_OR_RETURN(int64_t n, CheckedLength(ctx.input(1), ctx.node().op == "EmptyTensorList"
                                                                    ? std::string("max_num_elements")
                                                                    : std::string("num_elements")));
  if (ctx.node().op != "EmptyTensorList") list.items.resize(static_cast<size_t>(n));
  ctx.set_output(0, runtime::ListTensor(std::move(list)));
  return OkStatus();
}

Status FromTensor(KernelContext& ctx) {
  const Tensor& t = ctx.input(0);
  if (t.rank() == 0) return InvalidArgument("a scalar cannot be split into a list");
  if (IsHostOnly(t.dtype())) return Unimplemented("lists of " + std::string(DTypeName(t.dtype())) + " items");
  TensorList list;
  list.element_dtype = t.dtype();
  KILN_ASSIGN_OR_RETURN(PartialShape given, runtime::ElementShapeFromTensor(ctx.input(1)));
  const Shape item_shape(t.shape().begin() + 1, t.shape().end());
  KILN_ASSIGN_OR_RETURN(list.element_shape, runtime::MergeElementShapes(given, PartialShape::Known(item_shape)));
  const size_t bytes = static_cast<size_t>(NumElements(item_shape)) * DTypeSize(t.dtype());
  for (int64_t i = 0; i < t.dim(0); ++i) {
    Tensor item = Tensor::Empty(t.dtype(), item_shape);
    if (bytes > 0) std::memcpy(item.raw_data(), static_cast<const char*>(t.raw_data()) + i * bytes, bytes);
    list.items.push_back(std::move(item));
  }
  ctx.set_output(0, runtime::ListTensor(std::move(list)));
  return OkStatus();
}

Status GetItem(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  KILN_ASSIGN_OR_RETURN(int64_t i, CheckedIndex(ctx.input(1), *list));
  KILN_ASSIGN_OR_RETURN(PartialShape asked, runtime::ElementShapeFromTensor(ctx.input(2)));
  KILN_ASSIGN_OR_RETURN(Tensor item, Item(*list, i, asked));
  ctx.set_output(0, std::move(item));
  return OkStatus();
}

Status SetItem(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  KILN_ASSIGN_OR_RETURN(bool resize, ctx.Attr<bool>("resize_if_index_out_of_bounds"));
  TensorList out = *list;
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> index, ctx.input(1).ToInt64Vector());
  if (index.size() == 1 && resize && index[0] >= static_cast<int64_t>(out.items.size())) {
    KILN_ASSIGN_OR_RETURN(int64_t n, CheckedLength(Tensor::Scalar<int64_t>(index[0] + 1), "the list's new length"));
    out.items.resize(static_cast<size_t>(n));
  }
  KILN_ASSIGN_OR_RETURN(int64_t i, CheckedIndex(ctx.input(1), out));
  KILN_RETURN_IF_ERROR(CheckItem(out, ctx.input(2)));
  out.items[i] = ctx.input(2);
  ctx.set_output(0, runtime::ListTensor(std::move(out)));
  return OkStatus();
}

Status PushBack(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  KILN_RETURN_IF_ERROR(CheckItem(*list, ctx.input(1)));
  TensorList out = *list;
  out.items.push_back(ctx.input(1));
  ctx.set_output(0, runtime::ListTensor(std::move(out)));
  return OkStatus();
}

Status PopBack(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  if (list->items.empty()) return InvalidArgument("the list is empty; there is nothing to pop");
  KILN_ASSIGN_OR_RETURN(PartialShape asked, runtime::ElementShapeFromTensor(ctx.input(1)));
  KILN_ASSIGN_OR_RETURN(Tensor item, Item(*list, static_cast<int64_t>(list->items.size()) - 1, asked));
  TensorList out = *list;
  out.items.pop_back();
  ctx.set_output(0, runtime::ListTensor(std::move(out)));
  ctx.set_output(1, std::move(item));
  return OkStatus();
}

Status Resize(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_ASSIGN_OR_RETURN(int64_t n, CheckedLength(ctx.input(1), "size"));
  TensorList out = *list;
  out.items.resize(static_cast<size_t>(n));
  ctx.set_output(0, runtime::ListTensor(std::move(out)));
  return OkStatus();
}

Status Stack(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  KILN_ASSIGN_OR_RETURN(int64_t expected, ctx.Attr<int64_t>("num_elements"));
  if (expected != -1 && expected != static_cast<int64_t>(list->items.size())) {
    return InvalidArgument("the list has " + std::to_string(list->items.size()) + " items; num_elements says " +
                           std::to_string(expected));
  }
  KILN_ASSIGN_OR_RETURN(PartialShape asked, runtime::ElementShapeFromTensor(ctx.input(1)));
  std::vector<Tensor> items;
  for (size_t i = 0; i < list->items.size(); ++i) {
    KILN_ASSIGN_OR_RETURN(Tensor item, Item(*list, static_cast<int64_t>(i), asked));
    items.push_back(std::move(item));
  }
  KILN_ASSIGN_OR_RETURN(Tensor stacked, StackItems(items, *list, asked));
  ctx.set_output(0, std::move(stacked));
  return OkStatus();
}

Status Gather(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_RETURN_IF_ERROR(CheckDType(*list, ctx));
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> indices, ctx.input(1).ToInt64Vector());
  KILN_ASSIGN_OR_RETURN(PartialShape asked, runtime::ElementShapeFromTensor(ctx.input(2)));
  std::vector<Tensor> items;
  for (int64_t index : indices) {
    KILN_ASSIGN_OR_RETURN(int64_t i, CheckedIndex(Tensor::Scalar<int64_t>(index), *list));
    KILN_ASSIGN_OR_RETURN(Tensor item, Item(*list, i, asked));
    items.push_back(std::move(item));
  }
  KILN_ASSIGN_OR_RETURN(Tensor stacked, StackItems(items, *list, asked));
  ctx.set_output(0, std::move(stacked));
  return OkStatus();
}

Status Length(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  ctx.set_output(0, Tensor::Scalar<int32_t>(static_cast<int32_t>(list->items.size())));
  return OkStatus();
}

Status ElementShape(KernelContext& ctx) {
  KILN_ASSIGN_OR_RETURN(const TensorList* list, runtime::ListOf(ctx.input(0)));
  KILN_ASSIGN_OR_RETURN(DType dtype, ctx.Attr<DType>("shape_type"));
  const PartialShape& s = list->element_shape;
  const std::vector<int64_t> dims = s.rank_known ? s.dims : std::vector<int64_t>{-1};
  Tensor out(dtype, s.rank_known ? Shape{static_cast<int64_t>(dims.size())} : Shape{});
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dtype == DType::kInt64) {
      out.data<int64_t>()[i] = dims[i];
    } else {
      out.data<int32_t>()[i] = static_cast<int32_t>(dims[i]);
    }
  }
  ctx.set_output(0, std::move(out));
  return OkStatus();
}

}  // namespace

KILN_REGISTER_CPU_KERNEL("TensorListReserve", Reserve);
KILN_REGISTER_CPU_KERNEL("EmptyTensorList", Reserve);
KILN_REGISTER_CPU_KERNEL("TensorListFromTensor", FromTensor);
KILN_REGISTER_CPU_KERNEL("TensorListGetItem", GetItem);
KILN_REGISTER_CPU_KERNEL("TensorListSetItem", SetItem);
KILN_REGISTER_CPU_KERNEL("TensorListPushBack", PushBack);
KILN_REGISTER_CPU_KERNEL("TensorListPopBack", PopBack);
KILN_REGISTER_CPU_KERNEL("TensorListResize", Resize);
KILN_REGISTER_CPU_KERNEL("TensorListStack", Stack);
KILN_REGISTER_CPU_KERNEL("TensorListGather", Gather);
KILN_REGISTER_CPU_KERNEL("TensorListLength", Length);
KILN_REGISTER_CPU_KERNEL("TensorListElementShape", ElementShape);

}  // namespace kiln::kernels::cpu
