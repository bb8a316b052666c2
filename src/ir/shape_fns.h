#pragma once
// Shape functions shared by many op families.

#include "ir/op_registry.h"

namespace kiln::ir {

// The most specific shape that both `a` and `b` fit (a value that is `a` one time and `b` another:
// a loop's value across iterations, an If's output across branches): dims that disagree become
// unknown, and so does the rank when it disagrees.
PartialShape MostSpecificCommonShape(const PartialShape& a, const PartialShape& b);

// Output 0 has input 0's dtype and shape.
Status UnchangedShape(InferenceContext& ctx);
// numpy/TensorFlow broadcasting of two partial shapes; an error names both shapes.
StatusOr<PartialShape> BroadcastShapes(const PartialShape& a, const PartialShape& b);
// Output 0: broadcast of inputs 0 and 1, with input 0's dtype.
Status BroadcastBinaryShape(InferenceContext& ctx);
// Output 0: broadcast of inputs 0 and 1, bool.
Status BroadcastCompareShape(InferenceContext& ctx);
// Normalises a possibly negative axis against `rank`; an error names the axis and the rank.
StatusOr<int> NormalizeAxis(int64_t axis, int rank);
// A constant input read as int64 values, or nullopt when the input is not constant.
StatusOr<std::optional<std::vector<int64_t>>> ConstantInt64s(const InferenceContext& ctx, int input);

}  // namespace kiln::ir
