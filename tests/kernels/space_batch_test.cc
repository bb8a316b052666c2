// SpaceToBatchND / BatchToSpaceND / SpaceToBatch / BatchToSpace / SpaceToDepth / DepthToSpace:
// TensorFlow's own outputs on small arange inputs, an index-mapping reference on random inputs
// of every fixed-size dtype, round trips, shape inference with unknown values, bad inputs, and
// the dilated-convolution lowering (SpaceToBatchND -> Conv2D -> BatchToSpaceND) end to end.
#include <cstring>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using testing::RunOp;

ir::AttrMap Attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> values) {
  ir::AttrMap m;
  for (const auto& [k, v] : values) m.Set(k, v);
  return m;
}

Tensor I32(Shape shape, const std::vector<int32_t>& v) { return Tensor::FromVector<int32_t>(std::move(shape), v); }
Tensor I64(Shape shape, const std::vector<int64_t>& v) { return Tensor::FromVector<int64_t>(std::move(shape), v); }

// 0, 1, 2, ... (or `values` when given) in `dtype`; the TensorFlow snippets used tf.range.
Tensor Values(DType dtype, const Shape& shape, const std::vector<int>& values = {}) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const int v = values.empty() ? static_cast<int>(i) : values[i];
    switch (dtype) {
      case DType::kFloat32: t.data<float>()[i] = static_cast<float>(v); break;
      case DType::kFloat16: t.data<Half>()[i] = FloatToHalf(static_cast<float>(v)); break;
      case DType::kInt32: t.data<int32_t>()[i] = v; break;
      case DType::kInt64: t.data<int64_t>()[i] = v; break;
      default: ADD_FAILURE() << "Values: unhandled dtype";
    }
  }
  return t;
}

::testing::AssertionResult SameTensor(const Tensor& actual, const Tensor& expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "got " << actual.DebugString() << ", expected " << expected.DebugString();
  }
  if (actual.byte_size() != 0 && std::memcmp(actual.raw_data(), expected.raw_data(), actual.byte_size()) != 0) {
    return ::testing::AssertionFailure() << "values of " << actual.DebugString() << " differ";
  }
  return ::testing::AssertionSuccess();
}

// Runs `op` with constant inputs and again with placeholders; both must give `expected`.
void ExpectOp(const std::string& op, const std::vector<Tensor>& inputs, const ir::AttrMap& attrs,
              const Tensor& expected) {
  for (bool placeholders : {false, true}) {
    SCOPED_TRACE(op + (placeholders ? " (placeholders)" : " (constants)"));
    auto out = RunOp(op, inputs, attrs, placeholders);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out->size(), 1u);
    EXPECT_TRUE(SameTensor((*out)[0], expected));
  }
}

// Both modes must fail, with `needle` in the message.
void ExpectOpError(const std::string& op, const std::vector<Tensor>& inputs, const ir::AttrMap& attrs,
                   const std::string& needle, StatusCode code = StatusCode::kInvalidArgument) {
  for (bool placeholders : {false, true}) {
    SCOPED_TRACE(op + (placeholders ? " (placeholders)" : " (constants)") + ", expecting '" + needle + "'");
    auto out = RunOp(op, inputs, attrs, placeholders);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), code) << out.status().ToString();
    EXPECT_NE(out.status().message().find(needle), std::string::npos) << out.status().ToString();
  }
}

// A tensor whose element i is source element map[i], or zero where map[i] < 0.
Tensor Gather(const Tensor& src, const Shape& shape, const std::vector<int64_t>& map) {
  Tensor out(src.dtype(), shape);
  const size_t esize = DTypeSize(src.dtype());
  for (size_t i = 0; i < map.size(); ++i) {
    if (map[i] < 0) continue;
    std::memcpy(static_cast<uint8_t*>(out.raw_data()) + i * esize,
                static_cast<const uint8_t*>(src.raw_data()) + map[i] * esize, esize);
  }
  return out;
}

// Row-major multi-index of flat index i in `shape`.
std::vector<int64_t> Unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

int64_t Ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t i = 0;
  for (size_t d = 0; d < shape.size(); ++d) i = i * shape[d] + idx[d];
  return i;
}

// TensorFlow's definition, element by element: output[(o * B + b), j..., r...] =
// padded_input[b, j * block + o..., r...], with o a row-major offset within the block.
Tensor RefSpaceToBatch(const Tensor& x, const std::vector<int64_t>& block, const std::vector<int64_t>& pads) {
  const size_t m = block.size();
  Shape out_shape = x.shape();
  int64_t prod = 1;
  for (size_t i = 0; i < m; ++i) {
    out_shape[i + 1] = (x.dim(i + 1) + pads[2 * i] + pads[2 * i + 1]) / block[i];
    prod *= block[i];
  }
  out_shape[0] *= prod;
  std::vector<int64_t> map(NumElements(out_shape));
  for (int64_t i = 0; i < static_cast<int64_t>(map.size()); ++i) {
    std::vector<int64_t> idx = Unravel(i, out_shape);
    const std::vector<int64_t> off = Unravel(idx[0] / x.dim(0), block);
    idx[0] %= x.dim(0);
    bool pad = false;
    for (size_t d = 0; d < m; ++d) {
      idx[d + 1] = idx[d + 1] * block[d] + off[d] - pads[2 * d];
      pad = pad || idx[d + 1] < 0 || idx[d + 1] >= x.dim(d + 1);
    }
    map[i] = pad ? -1 : Ravel(idx, x.shape());
  }
  return Gather(x, out_shape, map);
}

Tensor RefBatchToSpace(const Tensor& x, const std::vector<int64_t>& block, const std::vector<int64_t>& crops) {
  const size_t m = block.size();
  Shape out_shape = x.shape();
  int64_t prod = 1;
  for (size_t i = 0; i < m; ++i) {
    out_shape[i + 1] = x.dim(i + 1) * block[i] - crops[2 * i] - crops[2 * i + 1];
    prod *= block[i];
  }
  out_shape[0] /= prod;
  std::vector<int64_t> map(NumElements(out_shape));
  for (int64_t i = 0; i < static_cast<int64_t>(map.size()); ++i) {
    std::vector<int64_t> idx = Unravel(i, out_shape);
    std::vector<int64_t> off(m);
    for (size_t d = 0; d < m; ++d) {
      const int64_t full = idx[d + 1] + crops[2 * d];
      off[d] = full % block[d];
      idx[d + 1] = full / block[d];
    }
    idx[0] += Ravel(off, block) * out_shape[0];
    map[i] = Ravel(idx, x.shape());
  }
  return Gather(x, out_shape, map);
}

// depth[n, h, w, (i*bs + j)*C + c] == space[n, h*bs + i, w*bs + j, c] (NHWC) or the same with
// channels second (NCHW).
Tensor RefSpaceDepth(const Tensor& x, int64_t bs, bool to_depth, bool nchw) {
  const int hi = nchw ? 2 : 1, wi = hi + 1, ci = nchw ? 1 : 3;
  Shape out_shape = x.shape();
  out_shape[hi] = to_depth ? x.dim(hi) / bs : x.dim(hi) * bs;
  out_shape[wi] = to_depth ? x.dim(wi) / bs : x.dim(wi) * bs;
  out_shape[ci] = to_depth ? x.dim(ci) * bs * bs : x.dim(ci) / (bs * bs);
  const Shape& space_shape = to_depth ? x.shape() : out_shape;
  const Shape& depth_shape = to_depth ? out_shape : x.shape();
  const int64_t cs = space_shape[ci];
  std::vector<int64_t> map(NumElements(out_shape));
  for (int64_t s = 0; s < NumElements(space_shape); ++s) {
    const std::vector<int64_t> sp = Unravel(s, space_shape);
    std::vector<int64_t> dp = sp;
    dp[hi] = sp[hi] / bs;
    dp[wi] = sp[wi] / bs;
    dp[ci] = ((sp[hi] % bs) * bs + sp[wi] % bs) * cs + sp[ci];
    const int64_t d = Ravel(dp, depth_shape);
    if (to_depth) {
      map[d] = s;
    } else {
      map[s] = d;
    }
  }
  return Gather(x, out_shape, map);
}

const DType kAllDTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8,
                            DType::kUInt8,   DType::kInt32,   DType::kInt64,    DType::kBool};

Tensor RandomOf(DType dtype, const Shape& shape, uint64_t seed) {
  if (dtype == DType::kBool) return testing::RandomTensor(dtype, shape, seed);
  if (IsInteger(dtype)) return testing::RandomTensor(dtype, shape, seed, dtype == DType::kUInt8 ? 1 : -100, 100);
  return testing::RandomTensor(dtype, shape, seed, -1.0, 1.0);
}

TEST(SpaceBatchTest, SpaceToBatchNDMatchesTensorFlow) {
  // tf.raw_ops.SpaceToBatchND(input=tf.reshape(tf.range(60.), [2,3,5,2]), block_shape=[2,2],
  //                           paddings=[[1,0],[1,2]])
  const std::vector<int> s2b_2d = {
      0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  12, 13, 16, 17, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
      42, 43, 46, 47, 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  10, 11, 14, 15, 18, 19, 0,  0,  0,  0,  0,  0,
      0,  0,  0,  0,  40, 41, 44, 45, 48, 49, 0,  0,  0,  0,  2,  3,  6,  7,  0,  0,  0,  0,  22, 23, 26, 27,
      0,  0,  0,  0,  32, 33, 36, 37, 0,  0,  0,  0,  52, 53, 56, 57, 0,  0,  0,  1,  4,  5,  8,  9,  0,  0,
      20, 21, 24, 25, 28, 29, 0,  0,  30, 31, 34, 35, 38, 39, 0,  0,  50, 51, 54, 55, 58, 59, 0,  0};
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kInt32, DType::kInt64}) {
    SCOPED_TRACE(std::string(DTypeName(dtype)));
    ExpectOp("SpaceToBatchND", {Values(dtype, {2, 3, 5, 2}), I32({2}, {2, 2}), I32({2, 2}, {1, 0, 1, 2})}, {},
             Values(dtype, {8, 2, 4, 2}, s2b_2d));
  }
  // tf.raw_ops.SpaceToBatchND(input=tf.reshape(tf.range(30.), [1,5,2,3]), block_shape=[3],
  //                           paddings=[[1,0]])  (one spatial dim, two remaining dims)
  ExpectOp("SpaceToBatchND", {Values(DType::kFloat32, {1, 5, 2, 3}), I64({1}, {3}), I64({1, 2}, {1, 0})},
           Attrs({{"Tblock_shape", DType::kInt64}, {"Tpaddings", DType::kInt64}}),
           Values(DType::kFloat32, {3, 2, 2, 3},
                  {0, 0,  0,  0,  0,  0,  12, 13, 14, 15, 16, 17, 0,  1,  2,  3,  4,  5,
                   18, 19, 20, 21, 22, 23, 6, 7, 8, 9, 10, 11, 24, 25, 26, 27, 28, 29}));
  // tf.raw_ops.SpaceToBatchND(input=tf.reshape(tf.range(12.), [1,2,3,2,1]), block_shape=[2,1,2],
  //                           paddings=[[0,0],[0,1],[1,1]])
  ExpectOp("SpaceToBatchND",
           {Values(DType::kFloat32, {1, 2, 3, 2, 1}), I32({3}, {2, 1, 2}), I32({3, 2}, {0, 0, 0, 1, 1, 1})}, {},
           Values(DType::kFloat32, {4, 1, 4, 2, 1},
                  {0, 1, 0, 3, 0, 5, 0, 0, 0, 0, 2, 0, 4, 0, 0, 0, 0, 7, 0, 9, 0, 11, 0, 0, 6, 0, 8, 0, 10, 0, 0, 0}));
  // No block dims at all: TensorFlow returns the input unchanged.
  const Tensor x = Values(DType::kFloat32, {1, 6, 1});
  ExpectOp("SpaceToBatchND", {x, I32({0}, {}), I32({0, 2}, {})}, {}, x);
}

TEST(SpaceBatchTest, BatchToSpaceNDMatchesTensorFlow) {
  // tf.raw_ops.BatchToSpaceND(input=tf.reshape(tf.range(48.), [8,2,3,1]), block_shape=[2,2],
  //                           crops=[[1,0],[0,1]])
  ExpectOp("BatchToSpaceND", {Values(DType::kFloat32, {8, 2, 3, 1}), I32({2}, {2, 2}), I32({2, 2}, {1, 0, 0, 1})},
           {},
           Values(DType::kFloat32, {2, 3, 5, 1},
                  {24, 36, 25, 37, 26, 3,  15, 4,  16, 5,  27, 39, 28, 40, 29,
                   30, 42, 31, 43, 32, 9, 21, 10, 22, 11, 33, 45, 34, 46, 35}));
  // tf.raw_ops.BatchToSpaceND(input=tf.reshape(tf.range(24), [6,2,2,1]), block_shape=[3],
  //                           crops=[[2,1]])
  ExpectOp("BatchToSpaceND", {Values(DType::kInt32, {6, 2, 2, 1}), I32({1}, {3}), I32({1, 2}, {2, 1})}, {},
           Values(DType::kInt32, {2, 3, 2, 1}, {16, 17, 2, 3, 10, 11, 20, 21, 6, 7, 14, 15}));
  // Crops may remove everything: tf gives shape [1,0,1].
  ExpectOp("BatchToSpaceND", {Values(DType::kFloat32, {2, 6, 1}), I32({1}, {2}), I32({1, 2}, {6, 6})}, {},
           Tensor(DType::kFloat32, {1, 0, 1}));
}

TEST(SpaceBatchTest, SpaceToDepthAndDepthToSpaceMatchTensorFlow) {
  // tf.raw_ops.SpaceToDepth(input=tf.reshape(tf.range(48.), [1,4,6,2]), block_size=2)
  ExpectOp("SpaceToDepth", {Values(DType::kFloat32, {1, 4, 6, 2})}, Attrs({{"block_size", int64_t{2}}}),
           Values(DType::kFloat32, {1, 2, 3, 8},
                  {0,  1,  2,  3,  12, 13, 14, 15, 4,  5,  6,  7,  16, 17, 18, 19, 8,  9,  10, 11, 20, 21, 22, 23,
                   24, 25, 26, 27, 36, 37, 38, 39, 28, 29, 30, 31, 40, 41, 42, 43, 32, 33, 34, 35, 44, 45, 46, 47}));
  // tf.raw_ops.DepthToSpace(input=tf.reshape(tf.range(32), [2,1,2,8]), block_size=2)
  ExpectOp("DepthToSpace", {Values(DType::kInt64, {2, 1, 2, 8})}, Attrs({{"block_size", int64_t{2}}}),
           Values(DType::kInt64, {2, 2, 4, 2},
                  {0,  1,  2,  3,  8,  9,  10, 11, 4,  5,  6,  7,  12, 13, 14, 15,
                   16, 17, 18, 19, 24, 25, 26, 27, 20, 21, 22, 23, 28, 29, 30, 31}));
  // tf.raw_ops.SpaceToDepth(input=tf.reshape(tf.range(9.), [1,3,3,1]), block_size=3)
  ExpectOp("SpaceToDepth", {Values(DType::kFloat16, {1, 3, 3, 1})}, Attrs({{"block_size", int64_t{3}}}),
           Values(DType::kFloat16, {1, 1, 1, 9}, {0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

struct BlockCase {
  Shape shape;
  std::vector<int64_t> block, pads;
};

// 1 to 3 spatial dims, odd sizes, remaining dims or none, block dims of 1.
const std::vector<BlockCase> kBlockCases = {
    {{2, 7, 3}, {2}, {1, 0}},
    {{1, 9, 4}, {3}, {2, 1}},
    {{3, 5}, {5}, {0, 0}},
    {{2, 5, 7, 3}, {2, 2}, {1, 0, 0, 1}},
    {{1, 9, 11, 2}, {2, 3}, {2, 1, 3, 1}},
    {{2, 4, 6, 1}, {1, 3}, {0, 0, 1, 2}},
    {{1, 3, 5, 2, 4}, {3, 2}, {0, 0, 2, 1}},
    {{2, 3, 4, 5, 2}, {2, 2, 1}, {1, 0, 2, 2, 0, 0}},
    {{0, 4, 4, 1}, {2, 2}, {0, 0, 0, 0}},
};

TEST(SpaceBatchTest, MatchesReferenceForEveryDtype) {
  uint64_t seed = 1;
  for (DType dtype : kAllDTypes) {
    for (const BlockCase& c : kBlockCases) {
      const Tensor x = RandomOf(dtype, c.shape, seed++);
      const int64_t m = static_cast<int64_t>(c.block.size());
      SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " block " + ShapeToString(c.block) +
                   " pads " + ShapeToString(c.pads));
      const Tensor block = I64({m}, c.block), pads = I64({m, 2}, c.pads);
      const ir::AttrMap attrs =
          Attrs({{"T", dtype}, {"Tblock_shape", DType::kInt64}, {"Tpaddings", DType::kInt64}, {"Tcrops", DType::kInt64}});
      const Tensor batched = RefSpaceToBatch(x, c.block, c.pads);
      ExpectOp("SpaceToBatchND", {x, block, pads}, attrs, batched);
      // BatchToSpaceND on a fresh random input of the batched shape, and as the inverse.
      const Tensor y = RandomOf(dtype, batched.shape(), seed++);
      ExpectOp("BatchToSpaceND", {y, block, pads}, attrs, RefBatchToSpace(y, c.block, c.pads));
      ExpectOp("BatchToSpaceND", {batched, block, pads}, attrs, x);
    }
  }
}

TEST(SpaceBatchTest, RoundTripsOnRandomShapes) {
  std::mt19937_64 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 40; ++trial) {
    const int m = pick(1, 2);
    Shape shape = {pick(1, 3)};
    std::vector<int64_t> block, pads;
    for (int i = 0; i < m; ++i) {
      shape.push_back(pick(1, 9));
      block.push_back(pick(1, 4));
      // Pad front freely, then pad the end up to a multiple of the block.
      const int64_t front = pick(0, 3);
      const int64_t back = (block[i] - (shape.back() + front) % block[i]) % block[i] + block[i] * pick(0, 1);
      pads.push_back(front);
      pads.push_back(back);
    }
    if (pick(0, 1)) shape.push_back(pick(1, 3));
    const Tensor x = RandomOf(DType::kFloat32, shape, 100 + trial);
    SCOPED_TRACE(x.DebugString() + " block " + ShapeToString(block) + " pads " + ShapeToString(pads));
    const Tensor bt = I32({m}, std::vector<int32_t>(block.begin(), block.end()));
    const Tensor pt = I32({m, 2}, std::vector<int32_t>(pads.begin(), pads.end()));
    auto batched = RunOp("SpaceToBatchND", {x, bt, pt}, {}, trial % 2 == 0);
    ASSERT_TRUE(batched.ok()) << batched.status().ToString();
    auto back = RunOp("BatchToSpaceND", {(*batched)[0], bt, pt}, {}, trial % 2 == 1);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(SameTensor((*back)[0], x));
  }
}

TEST(SpaceBatchTest, LegacySpaceToBatchMatchesND) {
  const Tensor x = RandomOf(DType::kFloat32, {2, 5, 3, 3}, 11);
  const Tensor pads = I32({2, 2}, {1, 0, 0, 1});
  const Tensor batched = RefSpaceToBatch(x, {2, 2}, {1, 0, 0, 1});
  ExpectOp("SpaceToBatch", {x, pads}, Attrs({{"block_size", int64_t{2}}}), batched);
  ExpectOp("BatchToSpace", {batched, pads}, Attrs({{"block_size", int64_t{2}}}), x);
  ExpectOpError("SpaceToBatch", {x, pads}, Attrs({{"block_size", int64_t{1}}}), "block_size");
  ExpectOpError("SpaceToBatch", {RandomOf(DType::kFloat32, {2, 4, 4}, 12), pads}, Attrs({{"block_size", int64_t{2}}}),
                "4-D");
}

TEST(SpaceBatchTest, SpaceDepthMatchesReferenceForEveryDtypeAndLayout) {
  uint64_t seed = 50;
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{2, 4, 6, 3}, 2}, {{1, 6, 3, 1}, 3}, {{3, 2, 2, 5}, 2}, {{1, 8, 4, 2}, 4}, {{0, 2, 2, 1}, 2}};
  for (DType dtype : kAllDTypes) {
    for (const auto& [shape, bs] : cases) {
      for (bool nchw : {false, true}) {
        const Shape s = nchw ? Shape{shape[0], shape[3], shape[1], shape[2]} : shape;
        const Tensor x = RandomOf(dtype, s, seed++);
        SCOPED_TRACE(std::string(DTypeName(dtype)) + " " + x.DebugString() + " block " + std::to_string(bs) +
                     (nchw ? " NCHW" : " NHWC"));
        const ir::AttrMap attrs =
            Attrs({{"T", dtype}, {"block_size", bs}, {"data_format", std::string(nchw ? "NCHW" : "NHWC")}});
        const Tensor depth = RefSpaceDepth(x, bs, true, nchw);
        ExpectOp("SpaceToDepth", {x}, attrs, depth);
        ExpectOp("DepthToSpace", {depth}, attrs, x);
        const Tensor y = RandomOf(dtype, depth.shape(), seed++);
        ExpectOp("DepthToSpace", {y}, attrs, RefSpaceDepth(y, bs, false, nchw));
      }
    }
  }
}

// Shape inference from partial information: unknown values give -1 dims, known ones exact dims.
TEST(SpaceBatchTest, InfersPartialShapes) {
  struct Case {
    std::string op;
    PartialShape input;
    std::optional<Tensor> block, pads;  // nullopt: a placeholder of the same shape
    PartialShape expected;
  };
  const Tensor block = I32({2}, {2, 3}), pads = I32({2, 2}, {1, 1, 0, 3});
  const std::vector<Case> cases = {
      {"SpaceToBatchND", PartialShape::Known({2, 4, 6, 5}), block, pads, PartialShape::Known({12, 3, 3, 5})},
      {"SpaceToBatchND", PartialShape::Known({2, 4, -1, 5}), block, pads, PartialShape::Known({12, 3, -1, 5})},
      {"SpaceToBatchND", PartialShape::Known({2, 4, 6, 5}), block, std::nullopt, PartialShape::Known({12, -1, -1, 5})},
      {"SpaceToBatchND", PartialShape::Known({2, 4, 6, 5}), std::nullopt, pads, PartialShape::Known({-1, -1, -1, 5})},
      {"SpaceToBatchND", PartialShape::Unknown(), block, pads, PartialShape::Unknown()},
      {"BatchToSpaceND", PartialShape::Known({12, 3, 3, 5}), block, pads, PartialShape::Known({2, 4, 6, 5})},
      {"BatchToSpaceND", PartialShape::Known({-1, 3, 3, 5}), block, std::nullopt, PartialShape::Known({-1, -1, -1, 5})},
      {"BatchToSpaceND", PartialShape::Known({12, 3, 3, 5}), std::nullopt, std::nullopt,
       PartialShape::Known({-1, -1, -1, 5})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op + " " + c.input.ToString());
    ir::Graph g;
    auto placeholder = [&](const std::string& name, DType dtype, PartialShape shape) {
      ir::AttrMap a;
      a.Set("dtype", dtype);
      a.Set("shape", std::move(shape));
      return ir::ValueRef{g.AddNode(name, "Placeholder", {}, std::move(a), 1)->id, 0};
    };
    auto arg = [&](const std::string& name, const std::optional<Tensor>& v, const Shape& shape) {
      return v ? ir::ValueRef{g.AddConst(name, *v)->id, 0} : placeholder(name, DType::kInt32, PartialShape::Known(shape));
    };
    const ir::ValueRef in = placeholder("x", DType::kFloat16, c.input);
    const ir::ValueRef b = arg("block", c.block, {2}), p = arg("pads", c.pads, {2, 2});
    ir::Node* n = g.AddNode("op", c.op, {in, b, p}, {}, 1);
    KILN_ASSERT_OK(ir::InferShapes(g));
    EXPECT_EQ(n->outputs[0].dtype, DType::kFloat16);
    EXPECT_EQ(n->outputs[0].shape, c.expected) << n->outputs[0].shape.ToString();
  }
}

TEST(SpaceBatchTest, RejectsBadBlockArguments) {
  const Tensor x = RandomOf(DType::kFloat32, {2, 6, 4, 1}, 3);
  const Tensor zero_pads = I32({2, 2}, {0, 0, 0, 0});
  ExpectOpError("SpaceToBatchND", {x, I32({2}, {0, 2}), zero_pads}, {}, "block_shape values must be >= 1");
  ExpectOpError("BatchToSpaceND", {x, I32({2}, {2, -1}), zero_pads}, {}, "block_shape values must be >= 1");
  ExpectOpError("SpaceToBatchND", {x, I32({2}, {2, 2}), I32({2, 2}, {-1, 1, 0, 0})}, {}, "non-negative");
  ExpectOpError("SpaceToBatchND", {x, I32({2}, {4, 2}), zero_pads}, {}, "not divisible by block_shape[0]=4");
  ExpectOpError("SpaceToBatchND", {x, I32({2}, {2, 2}), I32({2, 2}, {0, 0, 0, 1})}, {}, "not divisible");
  ExpectOpError("SpaceToBatchND", {x, I32({2}, {2, 2}), I32({2, 3}, {0, 0, 0, 0, 0, 0})}, {}, "[M,2]");
  ExpectOpError("SpaceToBatchND", {x, I32({1}, {2}), zero_pads}, {}, "does not match");
  ExpectOpError("SpaceToBatchND", {x, I32({1, 2}, {2, 2}), zero_pads}, {}, "block_shape must be a vector");
  ExpectOpError("SpaceToBatchND", {x, Values(DType::kFloat32, {2}, {2, 2}), zero_pads},
                Attrs({{"Tblock_shape", DType::kFloat32}}), "int32 or int64");
  ExpectOpError("SpaceToBatchND", {RandomOf(DType::kFloat32, {2, 6}, 4), I32({2}, {2, 2}), zero_pads}, {},
                "rank >= 3");
  ExpectOpError("SpaceToBatchND", {x, I64({2}, {int64_t{1} << 50, 1}), I64({2, 2}, {0, 0, 0, 0})},
                Attrs({{"Tblock_shape", DType::kInt64}, {"Tpaddings", DType::kInt64}}), "too large");
  ExpectOpError("BatchToSpaceND", {RandomOf(DType::kFloat32, {3, 2, 2, 1}, 5), I32({2}, {2, 1}), zero_pads}, {},
                "not divisible by the product of block_shape (2)");
  ExpectOpError("BatchToSpaceND", {RandomOf(DType::kFloat32, {4, 2, 2, 1}, 6), I32({2}, {2, 2}),
                                   I32({2, 2}, {3, 2, 0, 0})},
                {}, "exceed size 4");
  ExpectOpError("BatchToSpaceND", {RandomOf(DType::kFloat32, {4, 2, 2, 1}, 6), I32({2}, {2, 2}),
                                   I32({2, 2}, {0, 0, 0, -1})},
                {}, "crops must be non-negative");
  ExpectOpError("SpaceToBatchND", {Tensor::Strings({2, 2}, {"a", "b", "c", "d"}), I32({1}, {2}), I32({1, 2}, {0, 0})},
                Attrs({{"T", DType::kString}}), "not supported", StatusCode::kUnimplemented);
}

TEST(SpaceBatchTest, RejectsBadDepthArguments) {
  const Tensor x = RandomOf(DType::kFloat32, {1, 4, 6, 2}, 8);
  ExpectOpError("SpaceToDepth", {x}, Attrs({{"block_size", int64_t{1}}}), "block_size must be >= 2");
  ExpectOpError("SpaceToDepth", {x}, Attrs({{"block_size", int64_t{4}}}), "divisible by block_size 4");
  ExpectOpError("DepthToSpace", {x}, Attrs({{"block_size", int64_t{2}}}), "divisible by block_size^2 = 4");
  ExpectOpError("SpaceToDepth", {RandomOf(DType::kFloat32, {4, 6, 2}, 9)}, Attrs({{"block_size", int64_t{2}}}),
                "4-D");
  ExpectOpError("SpaceToDepth", {x}, Attrs({{"block_size", int64_t{2}}, {"data_format", std::string("NCHW_VECT_C")}}),
                "NCHW_VECT_C", StatusCode::kUnimplemented);
  ExpectOpError("DepthToSpace", {x}, Attrs({{"block_size", int64_t{2}}, {"data_format", std::string("NWHC")}}),
                "data_format");
  auto missing = RunOp("SpaceToDepth", {x});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("block_size"), std::string::npos) << missing.status().ToString();
}

// Keras lowers a dilated convolution to SpaceToBatchND -> Conv2D (undilated) -> BatchToSpaceND,
// with paddings from tf.required_space_to_batch_paddings; the chain must equal Conv2D with
// dilations. For VALID the base paddings are 0; for SAME they are the dilated filter's halo.
TEST(SpaceBatchTest, DilatedConvolutionChainMatchesConv2D) {
  if (ir::OpRegistry::Global().Find("Conv2D") == nullptr) GTEST_SKIP() << "Conv2D is not registered";
  const int64_t rate = 2, k = 3;
  const Tensor x = RandomOf(DType::kFloat32, {2, 9, 11, 3}, 21);
  const Tensor filter = RandomOf(DType::kFloat32, {k, k, 3, 4}, 22);
  for (const std::string padding : {"VALID", "SAME"}) {
    SCOPED_TRACE(padding);
    std::vector<int32_t> pads, crops;
    for (int d = 1; d <= 2; ++d) {
      const int64_t halo = padding == "SAME" ? (k - 1) * rate : 0;
      const int64_t start = halo / 2, end = halo - start;
      const int64_t extra = (rate - (x.dim(d) + start + end) % rate) % rate;
      pads.insert(pads.end(), {static_cast<int32_t>(start), static_cast<int32_t>(end + extra)});
      crops.insert(crops.end(), {0, static_cast<int32_t>(extra)});
    }
    const Tensor block = I32({2}, {2, 2});
    auto batched = RunOp("SpaceToBatchND", {x, block, I32({2, 2}, pads)});
    ASSERT_TRUE(batched.ok()) << batched.status().ToString();
    auto conv = RunOp("Conv2D", {(*batched)[0], filter},
                      Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}}, {"padding", std::string("VALID")}}));
    ASSERT_TRUE(conv.ok()) << conv.status().ToString();
    auto chain = RunOp("BatchToSpaceND", {(*conv)[0], block, I32({2, 2}, crops)});
    ASSERT_TRUE(chain.ok()) << chain.status().ToString();
    auto direct = RunOp("Conv2D", {x, filter},
                        Attrs({{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                               {"padding", padding},
                               {"dilations", std::vector<int64_t>{1, rate, rate, 1}}}));
    ASSERT_TRUE(direct.ok()) << direct.status().ToString();
    EXPECT_EQ((*chain)[0].shape(), (padding == "VALID" ? Shape{2, 5, 7, 4} : Shape{2, 9, 11, 4}));
    EXPECT_TRUE(testing::TensorsNear((*chain)[0], (*direct)[0], 1e-4, 1e-4));
  }
}

}  // namespace
}  // namespace kiln
