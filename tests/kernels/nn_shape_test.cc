// Shape functions of the nn ops on partly unknown shapes (unknown batch, unknown rank, inputs
// whose values are not constant), and their rejection of shapes that cannot work.
#include "ir/op_registry.h"
#include "kernels/nn_test_util.h"

namespace kiln {
namespace {

using nn_test::Attrs;
using nn_test::List;

// One input: a placeholder of the given spec, or a constant when `value` is set.
struct In {
  DType dtype = DType::kFloat32;
  PartialShape shape;
  Tensor value;
};

In Spec(std::vector<int64_t> dims, DType dtype = DType::kFloat32) { return {dtype, PartialShape::Known(dims), {}}; }
In UnknownRank(DType dtype = DType::kFloat32) { return {dtype, PartialShape::Unknown(), {}}; }
In Const(Tensor t) { return {t.dtype(), PartialShape::Known(t.shape()), t}; }

StatusOr<std::vector<ir::OutputInfo>> Infer(const std::string& op, const std::vector<In>& inputs, ir::AttrMap attrs) {
  ir::Graph g;
  std::vector<ir::ValueRef> refs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = "in" + std::to_string(i);
    if (inputs[i].value.valid()) {
      refs.push_back({g.AddConst(name, inputs[i].value)->id, 0});
      continue;
    }
    ir::Node* p =
        g.AddNode(name, "Placeholder", {}, Attrs({{"dtype", inputs[i].dtype}, {"shape", inputs[i].shape}}), 1);
    refs.push_back({p->id, 0});
  }
  ir::Node with_defaults;
  with_defaults.op = op;
  with_defaults.attrs = std::move(attrs);
  KILN_RETURN_IF_ERROR(ir::OpRegistry::Global().ApplyDefaults(with_defaults));
  const ir::OpDef* def = ir::OpRegistry::Global().Find(op);
  KILN_ASSIGN_OR_RETURN(int n, def->NumOutputs(with_defaults.attrs));
  ir::Node* node = g.AddNode("op", op, refs, with_defaults.attrs, n);
  KILN_RETURN_IF_ERROR(ir::InferShapes(g));
  return node->outputs;
}

std::string Describe(const ir::OutputInfo& o) { return std::string(DTypeName(o.dtype)) + o.shape.ToString(); }

std::string InferOne(const std::string& op, const std::vector<In>& inputs, ir::AttrMap attrs, int output = 0) {
  auto r = Infer(op, inputs, std::move(attrs));
  if (!r.ok()) return "error: " + r.status().message();
  return Describe((*r)[output]);
}

const ir::AttrMap kSame = Attrs({{"strides", List{1, 2, 2, 1}}, {"padding", std::string("SAME")}});

TEST(NnShapeTest, ConvolutionsKeepUnknownBatchAndSpatialDims) {
  EXPECT_EQ(InferOne("Conv2D", {Spec({-1, 28, 27, 3}), Spec({3, 3, 3, 8})}, kSame), "float32[?,14,14,8]");
  EXPECT_EQ(InferOne("Conv2D", {Spec({-1, -1, 27, 3}), Spec({3, 3, 3, 8})},
                     Attrs({{"strides", List{1, 1, 1, 1}}, {"padding", std::string("VALID")}})),
            "float32[?,?,25,8]");
  EXPECT_EQ(InferOne("Conv2D", {UnknownRank(), Spec({3, 3, 3, 8})}, kSame), "float32[?,?,?,8]");
  EXPECT_EQ(InferOne("Conv2D", {Spec({2, 3, 28, 28}), Spec({3, 3, 3, 8})},
                     Attrs({{"strides", List{1, 1, 2, 2}},
                            {"padding", std::string("SAME")},
                            {"data_format", std::string("NCHW")}})),
            "float32[2,8,14,14]");
  EXPECT_EQ(InferOne("Conv", {Spec({-1, 9, 3}), Spec({3, 3, 4})},
                     Attrs({{"strides", List{1, 2, 1}}, {"padding", std::string("VALID")}})),
            "float32[?,4,4]");
  EXPECT_EQ(InferOne("Conv3D", {Spec({-1, 4, 5, 6, 3}), Spec({2, 2, 2, 3, 4})},
                     Attrs({{"strides", List{1, 1, 1, 1, 1}}, {"padding", std::string("VALID")}})),
            "float32[?,3,4,5,4]");
  EXPECT_EQ(InferOne("DepthwiseConv2dNative", {Spec({-1, 28, 28, 3}), Spec({3, 3, 3, 2})}, kSame),
            "float32[?,14,14,6]");
  // Conv2DTranspose computes input_sizes at run time from the batch size.
  EXPECT_EQ(InferOne("Conv2DBackpropInput", {Spec({4}, DType::kInt32), Spec({3, 3, 8, 4}), Spec({-1, 7, 7, 4})}, kSame),
            "float32[?,?,?,8]");
  EXPECT_EQ(InferOne("Conv2DBackpropInput",
                     {Const(Tensor::FromVector<int32_t>({4}, {2, 14, 14, 8})), Spec({3, 3, 8, 4}), Spec({-1, 7, 7, 4})},
                     kSame),
            "float32[2,14,14,8]");
}

TEST(NnShapeTest, PoolingAndResizeWithUnknownWindowOrSize) {
  EXPECT_EQ(
      InferOne("MaxPool", {Spec({-1, 7, 7, 5})},
               Attrs({{"ksize", List{1, 2, 2, 1}}, {"strides", List{1, 2, 2, 1}}, {"padding", std::string("VALID")}})),
      "float32[?,3,3,5]");
  EXPECT_EQ(
      InferOne("AvgPool", {Spec({-1, 7, 7, 5})},
               Attrs({{"ksize", List{1, 3, 3, 1}}, {"strides", List{1, 2, 2, 1}}, {"padding", std::string("SAME")}})),
      "float32[?,4,4,5]");
  EXPECT_EQ(InferOne("MaxPoolV2", {Spec({2, 7, 7, 5}), Spec({4}, DType::kInt32), Spec({4}, DType::kInt32)},
                     Attrs({{"padding", std::string("VALID")}})),
            "float32[2,?,?,5]");
  EXPECT_EQ(InferOne("ResizeBilinear", {Spec({-1, 5, 5, 3}, DType::kUInt8), Spec({2}, DType::kInt32)}, {}),
            "float32[?,?,?,3]");
  EXPECT_EQ(InferOne("ResizeNearestNeighbor",
                     {Spec({-1, 5, 5, 3}, DType::kFloat16), Const(Tensor::FromVector<int32_t>({2}, {10, 10}))}, {}),
            "float16[?,10,10,3]");
}

TEST(NnShapeTest, MatMulEinsumAndNormalization) {
  EXPECT_EQ(InferOne("MatMul", {Spec({-1, 3}), Spec({3, 5})}, {}), "float32[?,5]");
  EXPECT_EQ(InferOne("MatMul", {Spec({3, -1}), Spec({-1, 5})}, Attrs({{"transpose_a", true}})), "float32[?,5]");
  EXPECT_EQ(InferOne("BatchMatMulV2", {Spec({-1, 1, 4, 5}), Spec({3, 5, 6})}, {}), "float32[?,3,4,6]");
  EXPECT_EQ(InferOne("BatchMatMulV2", {UnknownRank(), Spec({3, 5, 6})}, {}), "float32<unknown>");
  EXPECT_EQ(InferOne("BatchMatMulV3", {Spec({2, 4, 5}, DType::kInt8), Spec({5, 6}, DType::kInt8)},
                     Attrs({{"Ta", DType::kInt8}, {"Tb", DType::kInt8}, {"Tout", DType::kInt32}})),
            "int32[2,4,6]");
  const auto einsum = [](const std::string& eq) { return Attrs({{"equation", eq}}); };
  EXPECT_EQ(InferOne("Einsum", {Spec({-1, -1, 4}), Spec({4, 5})}, einsum("abc,cd->abd")), "float32[?,?,5]");
  EXPECT_EQ(InferOne("Einsum", {Spec({-1, 7, 4}), Spec({4, 2, 3})}, einsum("abc,cde->abde")), "float32[?,7,2,3]");
  EXPECT_EQ(InferOne("Einsum", {Spec({-1, 1, 4}), Spec({5, 4, 6})}, einsum("...b,...bc->...c")), "float32[?,5,6]");
  EXPECT_EQ(InferOne("Einsum", {UnknownRank(), Spec({4, 5})}, einsum("...b,bc->...c")), "float32<unknown>");
  EXPECT_EQ(InferOne("Einsum", {UnknownRank(), Spec({4, 5})}, einsum("ab,bc->ac")), "float32[?,5]");
  const std::vector<In> bn = {Spec({-1, -1, -1, 3}, DType::kFloat16), Spec({3}), Spec({3}), Spec({0}), Spec({0})};
  EXPECT_EQ(InferOne("FusedBatchNormV3", bn, {}, 0), "float16[?,?,?,3]");
  for (int i = 1; i < 5; ++i) EXPECT_EQ(InferOne("FusedBatchNormV3", bn, {}, i), "float32[3]");
  EXPECT_EQ(InferOne("FusedBatchNormV3", bn, {}, 5), "float32[]");
  EXPECT_EQ(InferOne("BiasAdd", {Spec({-1, 3, -1, -1}), Spec({3})}, Attrs({{"data_format", std::string("NCHW")}})),
            "float32[?,3,?,?]");
  EXPECT_EQ(InferOne("Softmax", {Spec({-1, 10})}, {}), "float32[?,10]");
}

TEST(NnShapeTest, RejectsIncompatibleKnownDims) {
  EXPECT_NE(InferOne("MatMul", {Spec({-1, 3}), Spec({4, -1})}, {}).find("inner dimensions"), std::string::npos);
  EXPECT_NE(InferOne("Conv2D", {Spec({-1, 28, 28, 3}), Spec({3, 3, 2, 8})}, kSame).find("input depth 3"),
            std::string::npos);
  EXPECT_NE(InferOne("Conv2D", {Spec({-1, 2, 28, 3}), Spec({3, 3, 3, 8})},
                     Attrs({{"strides", List{1, 1, 1, 1}}, {"padding", std::string("VALID")}}))
                .find("larger than the input"),
            std::string::npos);
  EXPECT_NE(InferOne("Einsum", {Spec({-1, 3}), Spec({4, 5})}, Attrs({{"equation", std::string("ab,bc->ac")}}))
                .find("label 'b'"),
            std::string::npos);
  EXPECT_NE(InferOne("FusedBatchNormV3", {Spec({-1, 4, 4, 3}), Spec({4}), Spec({4}), Spec({0}), Spec({0})}, {})
                .find("scale length"),
            std::string::npos);
  EXPECT_NE(InferOne("FusedBatchNormV3", {Spec({-1, 4, 4, 3}), Spec({3}), Spec({3}), Spec({0}), Spec({0})},
                     Attrs({{"is_training", false}}))
                .find("mean length"),
            std::string::npos);
  EXPECT_NE(InferOne("ResizeBilinear", {Spec({-1, 5, 5}), Spec({2}, DType::kInt32)}, {}).find("rank 4"),
            std::string::npos);
  EXPECT_NE(InferOne("BiasAdd", {Spec({-1, 5}), Spec({4})}, {}).find("channel dimension"), std::string::npos);
}

}  // namespace
}  // namespace kiln
