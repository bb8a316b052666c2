// Reductions, ArgMax/ArgMin and scans against straightforward references.
#include <cmath>
#include <functional>
#include <limits>

#include "kernels/array_test_util.h"

namespace kiln {
namespace {

using namespace testing;  // NOLINT: test helpers

const DType kNumeric[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16,
                          DType::kFloat64, DType::kInt32,   DType::kInt64};

// Reference reduction in double (floats) or wrapping int64 arithmetic (integers), truncated to
// the dtype's width at the end as the kernels' wrapping accumulators do.
Tensor ReferenceReduce(const std::string& op, const Tensor& in, const std::vector<int64_t>& axes, bool keep_dims) {
  const int rank = in.rank();
  std::vector<bool> mask(rank, false);
  for (int64_t a : axes) mask[a < 0 ? a + rank : a] = true;
  Shape out_shape, kept_shape;
  for (int d = 0; d < rank; ++d) {
    if (!mask[d]) kept_shape.push_back(in.dim(d));
    if (!mask[d] || keep_dims) out_shape.push_back(mask[d] ? 1 : in.dim(d));
  }
  const int64_t n_out = NumElements(kept_shape);
  const int64_t count = n_out == 0 ? 0 : in.num_elements() / std::max<int64_t>(n_out, 1);
  const bool integral = IsInteger(in.dtype());
  const std::vector<double> x = ToDoubles(in);
  std::vector<double> acc(n_out);
  std::vector<uint64_t> iacc(n_out);
  const double init = op == "Prod" ? 1 : op == "Max" ? -INFINITY : op == "Min" ? INFINITY : 0;
  std::fill(acc.begin(), acc.end(), init);
  std::fill(iacc.begin(), iacc.end(), op == "Prod" ? 1 : 0);
  if (integral && op == "Max") std::fill(acc.begin(), acc.end(), in.dtype() == DType::kInt32 ? INT32_MIN : -9.2e18);
  if (integral && op == "Min") std::fill(acc.begin(), acc.end(), in.dtype() == DType::kInt32 ? INT32_MAX : 9.2e18);
  for (int64_t i = 0; i < in.num_elements(); ++i) {
    const std::vector<int64_t> idx = Unravel(i, in.shape());
    std::vector<int64_t> kept;
    for (int d = 0; d < rank; ++d)
      if (!mask[d]) kept.push_back(idx[d]);
    const int64_t o = Ravel(kept, kept_shape);
    const double v = x[i];
    const uint64_t iv = static_cast<uint64_t>(static_cast<int64_t>(v));
    if (op == "Sum" || op == "Mean") {
      acc[o] += v;
      iacc[o] += iv;
    } else if (op == "Prod") {
      acc[o] *= v;
      iacc[o] *= iv;
    } else if (op == "EuclideanNorm") {
      acc[o] += v * v;
      iacc[o] += iv * iv;
    } else if (op == "Max") {
      acc[o] = std::max(acc[o], v);
    } else if (op == "Min") {
      acc[o] = std::min(acc[o], v);
    }
  }
  std::vector<double> out(n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    if (integral && op != "Max" && op != "Min") {
      // Truncate the wrapped value to the dtype's width.
      const int64_t wrapped =
          in.dtype() == DType::kInt32 ? static_cast<int32_t>(iacc[o]) : static_cast<int64_t>(iacc[o]);
      if (op == "Mean") {
        out[o] = count == 0 ? 0 : static_cast<double>(wrapped / count);
      } else if (op == "EuclideanNorm") {
        out[o] = std::floor(std::sqrt(static_cast<double>(wrapped)));
      } else {
        out[o] = static_cast<double>(wrapped);
      }
    } else if (op == "Mean") {
      out[o] = acc[o] / static_cast<double>(count);
    } else if (op == "EuclideanNorm") {
      out[o] = std::sqrt(acc[o]);
    } else {
      out[o] = acc[o];
    }
  }
  return FromDoubles(in.dtype(), out_shape, out);
}

struct Tolerance {
  double atol, rtol;
};
Tolerance TolFor(DType d) {
  switch (d) {
    case DType::kFloat16:
      return {2e-3, 2e-3};
    case DType::kBFloat16:
      return {2e-2, 1.6e-2};
    case DType::kFloat32:
      return {1e-4, 1e-4};
    default:
      return {1e-9, 1e-9};
  }
}

Tensor AxesTensor(const std::vector<int64_t>& axes, bool scalar, DType dtype) {
  if (dtype == DType::kInt64) return scalar ? I64({}, axes) : I64({static_cast<int64_t>(axes.size())}, axes);
  std::vector<int32_t> v(axes.begin(), axes.end());
  return scalar ? I32({}, v) : I32({static_cast<int64_t>(v.size())}, v);
}

TEST(ReductionTest, RandomInputsMatchReferenceForEveryDTypeAndAxisSet) {
  const std::vector<std::vector<int64_t>> axis_sets = {{},     {0},    {1},    {2},    {-1},
                                                       {0, 2}, {2, 0}, {0, 1}, {1, 2}, {-3, -2, -1}};
  uint64_t seed = 100;
  for (const char* op : {"Sum", "Mean", "Prod", "Max", "Min", "EuclideanNorm"}) {
    for (DType dtype : kNumeric) {
      const bool prod = std::string(op) == "Prod";
      const bool integral = IsInteger(dtype);
      const Shape shape = prod ? Shape{2, 3, 4} : Shape{3, 4, 5};
      const double lo = integral ? (prod ? -3 : -50) : (prod ? -1.5 : -2);
      const double hi = integral ? (prod ? 4 : 50) : (prod ? 1.5 : 2);
      const double lo_norm = std::string(op) == "EuclideanNorm" && integral ? 0 : lo;
      const Tensor x = RandomTensor(dtype, shape, ++seed, lo_norm, hi);
      for (const auto& axes : axis_sets) {
        for (bool keep_dims : {false, true}) {
          const Tolerance tol = TolFor(dtype);
          const Tensor want = ReferenceReduce(op, x, axes, keep_dims);
          const DType axis_dtype = seed % 2 ? DType::kInt32 : DType::kInt64;
          ir::AttrMap attrs = Attrs({{"keep_dims", keep_dims}, {"Tidx", axis_dtype}});
          EXPECT_TRUE(OpMatches(op, {x, AxesTensor(axes, false, axis_dtype)}, attrs, {want}, tol.atol, tol.rtol))
              << op << " " << DTypeName(dtype) << " axes " << ShapeToString(axes) << " keep_dims " << keep_dims;
        }
      }
      // A scalar axis.
      const Tensor want = ReferenceReduce(op, x, {1}, false);
      EXPECT_TRUE(
          OpMatches(op, {x, AxesTensor({1}, true, DType::kInt32)}, {}, {want}, TolFor(dtype).atol, TolFor(dtype).rtol));
    }
  }
}

TEST(ReductionTest, LargeRowsAndColumnsStayAccurate) {
  // Exercises the 4-accumulator row path and the column path on long extents.
  const Tensor x = RandomTensor(DType::kFloat32, {37, 1001}, 7, -1, 1);
  for (int64_t axis : {0, 1}) {
    for (const char* op : {"Sum", "Mean", "Max", "Min"}) {
      EXPECT_TRUE(OpMatches(op, {x, I32({}, {static_cast<int32_t>(axis)})}, {}, {ReferenceReduce(op, x, {axis}, false)},
                            1e-3, 1e-4))
          << op << " axis " << axis;
    }
  }
}

TEST(ReductionTest, AllAndAnyOnBools) {
  const Tensor x = RandomTensor(DType::kBool, {4, 3, 5}, 11);
  for (const std::vector<int64_t>& axes : std::vector<std::vector<int64_t>>{{}, {0}, {2}, {0, 2}, {1, -1}, {0, 1, 2}}) {
    for (bool keep_dims : {false, true}) {
      Shape kept_shape, out_shape;
      std::vector<bool> mask(3, false);
      for (int64_t a : axes) mask[a < 0 ? a + 3 : a] = true;
      for (int d = 0; d < 3; ++d) {
        if (!mask[d]) kept_shape.push_back(x.dim(d));
        if (!mask[d] || keep_dims) out_shape.push_back(mask[d] ? 1 : x.dim(d));
      }
      std::vector<double> all(NumElements(kept_shape), 1), any(NumElements(kept_shape), 0);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        const auto idx = Unravel(i, x.shape());
        std::vector<int64_t> kept;
        for (int d = 0; d < 3; ++d)
          if (!mask[d]) kept.push_back(idx[d]);
        const int64_t o = Ravel(kept, kept_shape);
        all[o] = all[o] && x.data<bool>()[i];
        any[o] = any[o] || x.data<bool>()[i];
      }
      const ir::AttrMap attrs = Attrs({{"keep_dims", keep_dims}});
      const Tensor axes_t = AxesTensor(axes, false, DType::kInt32);
      EXPECT_TRUE(OpMatches("All", {x, axes_t}, attrs, {FromDoubles(DType::kBool, out_shape, all)}));
      EXPECT_TRUE(OpMatches("Any", {x, axes_t}, attrs, {FromDoubles(DType::kBool, out_shape, any)}));
    }
  }
}

TEST(ReductionTest, EmptyAndScalarInputs) {
  const Tensor empty = Tensor(DType::kFloat32, {0, 3});
  const Tensor axis0 = I32s({0});
  EXPECT_TRUE(OpMatches("Sum", {empty, axis0}, {}, {F32({3}, {0, 0, 0})}));
  EXPECT_TRUE(OpMatches("Prod", {empty, axis0}, {}, {F32({3}, {1, 1, 1})}));
  EXPECT_TRUE(OpMatches("Sum", {empty, I32s({1})}, {}, {F32({0}, {})}));
  const float inf = std::numeric_limits<float>::infinity();
  // tf.reduce_max(tf.zeros([0])) == -inf; tf.reduce_min(tf.zeros([0], tf.int32)) == 2147483647.
  for (bool placeholders : {false, true}) {  // TensorsNear cannot compare infinities
    auto max = RunOp("Max", {Tensor(DType::kFloat32, {0}), axis0}, {}, placeholders);
    ASSERT_TRUE(max.ok()) << max.status().ToString();
    EXPECT_EQ((*max)[0].data<float>()[0], -inf);
  }
  EXPECT_TRUE(OpMatches("Min", {Tensor(DType::kInt32, {0}), axis0}, {},
                        {Tensor::Scalar<int32_t>(std::numeric_limits<int32_t>::max())}));
  // tf.reduce_mean of an empty float tensor is nan; of an empty int32 tensor, 0.
  auto mean = RunOp("Mean", {Tensor(DType::kFloat32, {0}), axis0});
  ASSERT_TRUE(mean.ok());
  EXPECT_TRUE(std::isnan((*mean)[0].data<float>()[0]));
  EXPECT_TRUE(OpMatches("Mean", {Tensor(DType::kInt32, {0}), axis0}, {}, {Tensor::Scalar<int32_t>(0)}));
  EXPECT_TRUE(OpMatches("All", {Tensor(DType::kBool, {0}), axis0}, {}, {Tensor::Scalar<bool>(true)}));
  EXPECT_TRUE(OpMatches("Any", {Tensor(DType::kBool, {0}), axis0}, {}, {Tensor::Scalar<bool>(false)}));
  // Rank 0 with no axes is the identity; EuclideanNorm of one element is its magnitude.
  EXPECT_TRUE(OpMatches("Sum", {Tensor::Scalar<float>(-3.0f), I32({0}, {})}, {}, {Tensor::Scalar<float>(-3.0f)}));
  EXPECT_TRUE(OpMatches("EuclideanNorm", {F32({2}, {-3, 4}), I32({0}, {})}, {}, {F32({2}, {3, 4})}));
  // tf.raw_ops.EuclideanNorm(input=[3,4,1], axis=[0]) == 5 (int32).
  EXPECT_TRUE(OpMatches("EuclideanNorm", {I32s({3, 4, 1}), axis0}, {}, {Tensor::Scalar<int32_t>(5)}));
  // tf.reduce_mean([1, 2, -2]) == 0 (int32): integer division.
  EXPECT_TRUE(OpMatches("Mean", {I32s({1, 2, -2}), axis0}, {}, {Tensor::Scalar<int32_t>(0)}));
}

TEST(ReductionTest, MaxAndMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // tf.reduce_max([[nan,1],[0,nan],[0,1]], axis=1) == [nan, nan, 1].
  const Tensor x = F32({3, 2}, {nan, 1, 0, nan, 0, 1});
  EXPECT_TRUE(OpMatches("Max", {x, I32s({1})}, {}, {F32({3}, {nan, nan, 1})}));
  EXPECT_TRUE(OpMatches("Min", {x, I32s({0})}, {}, {F32({2}, {nan, nan})}));
}

TEST(ReductionTest, ShapeInference) {
  const ir::AttrMap keep = Attrs({{"keep_dims", true}});
  EXPECT_EQ(InferredShape("Sum", {Ph(DType::kFloat32, PS({-1, 7, 5})), Const(I32s({1}))}), "[?,5]");
  EXPECT_EQ(InferredShape("Sum", {Ph(DType::kFloat32, PS({-1, 7, 5})), Const(I32s({-1, 0}))}, keep), "[1,7,1]");
  EXPECT_EQ(InferredShape("Mean", {Ph(DType::kFloat32, PS({-1, 7, 5})), Ph(DType::kInt32, PS({2}))}), "[?]");
  EXPECT_EQ(InferredShape("Mean", {Ph(DType::kFloat32, PS({-1, 7, 5})), Ph(DType::kInt32, PS({-1}))}, keep), "[?,?,?]");
  EXPECT_EQ(InferredShape("Mean", {Ph(DType::kFloat32, PS({-1, 7, 5})), Ph(DType::kInt32, PS({-1}))}), "<unknown>");
  EXPECT_EQ(InferredShape("Max", {Ph(DType::kFloat32, PartialShape::Unknown()), Const(I32s({0}))}), "<unknown>");
  EXPECT_EQ(InferredShape("ArgMax", {Ph(DType::kFloat32, PS({-1, 10})), Const(Tensor::Scalar<int32_t>(-1))}), "[?]");
  EXPECT_EQ(InferredShape("ArgMax", {Ph(DType::kFloat32, PS({-1, 10})), Ph(DType::kInt32, PS({}))}), "[?]");
  EXPECT_EQ(InferredShape("Cumsum", {Ph(DType::kFloat32, PS({-1, 10})), Const(Tensor::Scalar<int32_t>(1))}), "[?,10]");
  auto argmax = InferOp("ArgMax", {Ph(DType::kFloat32, PS({2, 3})), Const(Tensor::Scalar<int32_t>(0))},
                        Attrs({{"output_type", DType::kInt32}}));
  ASSERT_TRUE(argmax.ok());
  EXPECT_EQ((*argmax)[0].dtype, DType::kInt32);
}

TEST(ReductionTest, BadInputsGiveClearErrors) {
  const Tensor x = RandomTensor(DType::kFloat32, {2, 3}, 3);
  // tf: "Invalid reduction dimension (2 for input with 2 dimension(s)".
  EXPECT_TRUE(OpFails("Sum", {x, I32s({2})}, {}, "reduction axis 2 is out of range for input of rank 2"));
  // tf: "Axes contains duplicate dimension: 1".
  EXPECT_TRUE(OpFails("Sum", {x, I32s({1, -1})}, {}, "contain dimension 1 twice"));
  EXPECT_TRUE(OpFails("Sum", {x, I32({1, 1}, {0})}, {}, "scalar or vector"));
  EXPECT_TRUE(OpFails("Any", {x, I32s({0})}, {}, "cannot reduce a float32 tensor with Any"));
  EXPECT_TRUE(OpFails("Sum", {RandomTensor(DType::kBool, {2}, 1), I32s({0})}, {}, "cannot reduce a bool"));
  EXPECT_TRUE(OpFails("Sum", {x, F32({1}, {0})}, {}, "must be int32 or int64"));
  // tf: "Reduction axis 0 is empty in shape [0,3]".
  EXPECT_TRUE(OpFails("ArgMax", {Tensor(DType::kFloat32, {0, 3}), Tensor::Scalar<int32_t>(0)}, {},
                      "reduction axis 0 is empty"));
  EXPECT_TRUE(OpFails("ArgMax", {x, Tensor::Scalar<int32_t>(2)}, {}, "out of range"));
  EXPECT_TRUE(OpFails("ArgMin", {Tensor::Scalar<float>(1), Tensor::Scalar<int32_t>(0)}, {}, "rank"));
  EXPECT_TRUE(OpFails("Cumsum", {x, Tensor::Scalar<int32_t>(-3)}, {}, "out of range"));
  EXPECT_TRUE(OpFails("Cumsum", {x, I32s({0, 1})}, {}, "scalar"));
}

Tensor ReferenceArg(const Tensor& x, int axis, bool is_max, DType out_type) {
  const std::vector<double> v = ToDoubles(x);
  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + axis);
  std::vector<double> out(NumElements(out_shape));
  for (int64_t o = 0; o < static_cast<int64_t>(out.size()); ++o) {
    std::vector<int64_t> idx = Unravel(o, out_shape);
    idx.insert(idx.begin() + axis, 0);
    int64_t best_i = 0;
    double best = v[Ravel(idx, x.shape())];
    for (int64_t k = 1; k < x.dim(axis); ++k) {
      idx[axis] = k;
      const double c = v[Ravel(idx, x.shape())];
      if (is_max ? c > best : c < best) {
        best = c;
        best_i = k;
      }
    }
    out[o] = static_cast<double>(best_i);
  }
  return FromDoubles(out_type, out_shape, out);
}

TEST(ArgReductionTest, RandomInputsMatchReference) {
  uint64_t seed = 500;
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt32, DType::kInt64,
                      DType::kBool}) {
    const Tensor x = RandomTensor(dtype, {4, 5, 6}, ++seed, -20, 20);
    for (int axis : {0, 1, 2, -1}) {
      for (DType out_type : {DType::kInt64, DType::kInt32}) {
        const ir::AttrMap attrs = Attrs({{"output_type", out_type}});
        const int a = axis < 0 ? axis + 3 : axis;
        EXPECT_TRUE(
            OpMatches("ArgMax", {x, Tensor::Scalar<int32_t>(axis)}, attrs, {ReferenceArg(x, a, true, out_type)}))
            << DTypeName(dtype) << " axis " << axis;
        EXPECT_TRUE(
            OpMatches("ArgMin", {x, Tensor::Scalar<int64_t>(axis)}, attrs, {ReferenceArg(x, a, false, out_type)}))
            << DTypeName(dtype) << " axis " << axis;
      }
    }
  }
}

TEST(ArgReductionTest, TiesAndNaNFollowTensorFlow) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor axis0 = Tensor::Scalar<int32_t>(0);
  // tf.argmax([1,2,2]) == 1; tf.argmax([nan,1,2]) == 2; tf.argmax([3,nan,2]) == 0;
  // tf.argmin([nan,1,2]) == 1; tf.argmax([nan,nan]) == 0;
  // tf.argmax([[nan,1],[0,nan]], axis=1) == [1, 0].
  EXPECT_TRUE(OpMatches("ArgMax", {F32({3}, {1, 2, 2}), axis0}, {}, {Tensor::Scalar<int64_t>(1)}));
  EXPECT_TRUE(OpMatches("ArgMax", {F32({3}, {nan, 1, 2}), axis0}, {}, {Tensor::Scalar<int64_t>(2)}));
  EXPECT_TRUE(OpMatches("ArgMax", {F32({3}, {3, nan, 2}), axis0}, {}, {Tensor::Scalar<int64_t>(0)}));
  EXPECT_TRUE(OpMatches("ArgMin", {F32({3}, {nan, 1, 2}), axis0}, {}, {Tensor::Scalar<int64_t>(1)}));
  EXPECT_TRUE(OpMatches("ArgMax", {F32({2}, {nan, nan}), axis0}, {}, {Tensor::Scalar<int64_t>(0)}));
  EXPECT_TRUE(OpMatches("ArgMax", {F32({2, 2}, {nan, 1, 0, nan}), Tensor::Scalar<int32_t>(1)}, {}, {I64({2}, {1, 0})}));
  // tf.argmax(tf.zeros([3,0]), axis=0) is an empty int64 tensor.
  EXPECT_TRUE(OpMatches("ArgMax", {Tensor(DType::kFloat32, {3, 0}), axis0}, {}, {I64({0}, {})}));
}

Tensor ReferenceScan(const Tensor& x, int axis, bool product, bool exclusive, bool reverse) {
  const std::vector<double> v = ToDoubles(x);
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    std::vector<int64_t> idx = Unravel(i, x.shape());
    const int64_t pos = idx[axis], n = x.dim(axis);
    double acc = product ? 1 : 0;
    for (int64_t k = 0; k < n; ++k) {
      const bool include = reverse ? (exclusive ? k > pos : k >= pos) : (exclusive ? k < pos : k <= pos);
      if (!include) continue;
      idx[axis] = k;
      acc = product ? acc * v[Ravel(idx, x.shape())] : acc + v[Ravel(idx, x.shape())];
    }
    out[i] = acc;
  }
  return FromDoubles(x.dtype(), x.shape(), out);
}

TEST(ScanTest, RandomInputsMatchReference) {
  uint64_t seed = 900;
  for (DType dtype : kNumeric) {
    const bool integral = IsInteger(dtype);
    for (bool product : {false, true}) {
      const Tensor x = RandomTensor(dtype, {3, 4, 5}, ++seed, integral ? -3 : (product ? 0.5 : -2),
                                    integral ? 4 : (product ? 1.5 : 2));
      for (int axis : {0, 1, 2, -1}) {
        for (bool exclusive : {false, true}) {
          for (bool reverse : {false, true}) {
            const int a = axis < 0 ? axis + 3 : axis;
            const Tolerance tol = TolFor(dtype);
            EXPECT_TRUE(OpMatches(product ? "Cumprod" : "Cumsum", {x, Tensor::Scalar<int32_t>(axis)},
                                  Attrs({{"exclusive", exclusive}, {"reverse", reverse}}),
                                  {ReferenceScan(x, a, product, exclusive, reverse)}, 4 * tol.atol, 4 * tol.rtol))
                << DTypeName(dtype) << " axis " << axis << " exclusive " << exclusive << " reverse " << reverse;
          }
        }
      }
    }
  }
  // tf.raw_ops.Cumsum(x=[1,2,3,4], axis=0, exclusive=True, reverse=True) == [9,7,4,0];
  // tf.raw_ops.Cumprod(x=[1,2,3,4], axis=0, exclusive=True) == [1,1,2,6].
  EXPECT_TRUE(OpMatches("Cumsum", {I32s({1, 2, 3, 4}), Tensor::Scalar<int32_t>(0)},
                        Attrs({{"exclusive", true}, {"reverse", true}}), {I32s({9, 7, 4, 0})}));
  EXPECT_TRUE(OpMatches("Cumprod", {I32s({1, 2, 3, 4}), Tensor::Scalar<int32_t>(0)}, Attrs({{"exclusive", true}}),
                        {I32s({1, 1, 2, 6})}));
}

}  // namespace
}  // namespace kiln
