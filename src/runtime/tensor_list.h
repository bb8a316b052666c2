#pragma once
// TensorFlow's TensorList as a value of kiln's runtime: a scalar variant tensor holding a list of
// tensors of one dtype, each of the list's element shape (as far as it is known). RNN layers and
// TensorArrays build one per sequence: unstacked from a tensor, read and written by index inside a
// loop's body, stacked back at the end. Lists are never changed in place: an op that changes one
// makes a new one (sharing the items' buffers).

#include <memory>
#include <string>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::runtime {

struct TensorList : VariantValue {
  DType element_dtype = DType::kInvalid;
  PartialShape element_shape;
  std::vector<Tensor> items;  // an invalid Tensor: an item not yet set

  std::string DebugString() const override;
};

// The list a variant tensor holds; an error when it holds none (or another kind of value).
StatusOr<const TensorList*> ListOf(const Tensor& t);

// `list` as a variant tensor.
Tensor ListTensor(TensorList list);

// An element shape given as a tensor (TensorFlow's encoding: a scalar -1 for an unknown rank,
// else a vector with -1 for unknown dims).
StatusOr<PartialShape> ElementShapeFromTensor(const Tensor& t);

// The shape both `a` and `b` describe (unknown parts of one filled from the other); an error when
// they disagree.
StatusOr<PartialShape> MergeElementShapes(const PartialShape& a, const PartialShape& b);

}  // namespace kiln::runtime
