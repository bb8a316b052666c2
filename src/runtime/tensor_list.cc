#include "runtime/tensor_list.h"

namespace kiln::runtime {

std::string TensorList::DebugString() const {
  return "TensorList of " + std::to_string(items.size()) + " " + std::string(DTypeName(element_dtype)) + " " +
         element_shape.ToString();
}

StatusOr<const TensorList*> ListOf(const Tensor& t) {
  const auto* list = t.dtype() == DType::kVariant ? dynamic_cast<const TensorList*>(t.variant()) : nullptr;
  if (list == nullptr) return InvalidArgument("expected a tensor list, got " + t.DebugString());
  return list;
}

Tensor ListTensor(TensorList list) { return Tensor::Variant(std::make_shared<const TensorList>(std::move(list))); }

StatusOr<PartialShape> ElementShapeFromTensor(const Tensor& t) {
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, t.ToInt64Vector());
  if (t.rank() == 0) {
    if (dims[0] == -1) return PartialShape::Unknown();
    return InvalidArgument("a scalar element shape must be -1 (unknown), got " + std::to_string(dims[0]));
  }
  if (t.rank() != 1) return InvalidArgument("an element shape must be a vector, got " + t.DebugString());
  for (int64_t d : dims) {
    if (d < -1) return InvalidArgument("element shape dimension " + std::to_string(d) + " is negative");
  }
  return PartialShape::Known(std::move(dims));
}

StatusOr<PartialShape> MergeElementShapes(const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known) return b;
  if (!b.rank_known) return a;
  if (a.rank() != b.rank()) {
    return InvalidArgument("element shapes " + a.ToString() + " and " + b.ToString() + " disagree");
  }
  PartialShape out = a;
  for (size_t d = 0; d < a.dims.size(); ++d) {
    if (out.dims[d] == -1) {
      out.dims[d] = b.dims[d];
    } else if (b.dims[d] != -1 && b.dims[d] != a.dims[d]) {
      return InvalidArgument("element shapes " + a.ToString() + " and " + b.ToString() + " disagree");
    }
  }
  return out;
}

}  // namespace kiln::runtime
