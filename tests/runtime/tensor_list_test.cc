// TensorList ops one by one: lists made from tensors and reserved, items read, written and
// stacked back, and each misuse (an index outside the list, an item of another shape, an unset
// item of unknown shape, a length outside [0, what memory holds]) an error that says so.
#include "runtime/tensor_list.h"

#include "util/test_util.h"

namespace kiln {
namespace {

using testing::RunOp;

ir::AttrMap ElementDType(DType dtype = DType::kFloat32) {
  ir::AttrMap a;
  a.Set("element_dtype", dtype);
  return a;
}

Tensor Shape1D(std::vector<int32_t> dims) {
  return Tensor::FromVector<int32_t>({static_cast<int64_t>(dims.size())}, dims);
}

Tensor UnknownShape() { return Tensor::Scalar<int32_t>(-1); }

StatusOr<Tensor> FromTensor(const Tensor& t) {
  KILN_ASSIGN_OR_RETURN(auto out, RunOp("TensorListFromTensor", {t, UnknownShape()}, ElementDType(t.dtype())));
  return out[0];
}

TEST(TensorListTest, ItemsOfATensorComeBackStacked) {
  const Tensor x = testing::RandomTensor(DType::kFloat32, {4, 2, 3}, 7);
  KILN_ASSERT_OK_AND_ASSIGN(Tensor list, FromTensor(x));
  KILN_ASSERT_OK_AND_ASSIGN(const runtime::TensorList* l, runtime::ListOf(list));
  EXPECT_EQ(l->items.size(), 4u);
  EXPECT_EQ(l->element_shape, PartialShape::Known({2, 3}));
  KILN_ASSERT_OK_AND_ASSIGN(auto item, RunOp("TensorListGetItem", {list, Tensor::Scalar<int32_t>(2), UnknownShape()},
                                             ElementDType()));
  ASSERT_EQ(item[0].shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(item[0].data<float>()[i], x.data<float>()[12 + i]);
  KILN_ASSERT_OK_AND_ASSIGN(auto stacked, RunOp("TensorListStack", {list, Shape1D({2, 3})}, ElementDType()));
  EXPECT_TRUE(testing::TensorsNear(stacked[0], x, 0, 0));
  KILN_ASSERT_OK_AND_ASSIGN(auto length, RunOp("TensorListLength", {list}));
  EXPECT_EQ(length[0].data<int32_t>()[0], 4);
}

TEST(TensorListTest, ReservedItemsAreWrittenAndUnsetOnesAreZeros) {
  KILN_ASSERT_OK_AND_ASSIGN(auto reserved, RunOp("TensorListReserve", {Shape1D({2}), Tensor::Scalar<int32_t>(3)},
                                                 ElementDType()));
  const Tensor item = Tensor::FromVector<float>({2}, {5, 6});
  KILN_ASSERT_OK_AND_ASSIGN(auto written, RunOp("TensorListSetItem", {reserved[0], Tensor::Scalar<int32_t>(1), item},
                                                ElementDType()));
  KILN_ASSERT_OK_AND_ASSIGN(auto stacked, RunOp("TensorListStack", {written[0], Shape1D({2})}, ElementDType()));
  EXPECT_TRUE(testing::TensorsNear(stacked[0], Tensor::FromVector<float>({3, 2}, {0, 0, 5, 6, 0, 0}), 0, 0));
  // The list written to is unchanged: lists are values.
  KILN_ASSERT_OK_AND_ASSIGN(const runtime::TensorList* before, runtime::ListOf(reserved[0]));
  EXPECT_FALSE(before->items[1].valid());
}

TEST(TensorListTest, MisusesAreErrorsThatSaySo) {
  KILN_ASSERT_OK_AND_ASSIGN(Tensor list, FromTensor(Tensor::FromVector<float>({3, 2}, {1, 2, 3, 4, 5, 6})));
  auto outside = RunOp("TensorListGetItem", {list, Tensor::Scalar<int32_t>(3), UnknownShape()}, ElementDType());
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().ToString().find("index 3 is outside the list of 3 items"), std::string::npos)
      << outside.status().ToString();

  auto wrong_shape = RunOp("TensorListSetItem", {list, Tensor::Scalar<int32_t>(0), Tensor::FromVector<float>({3}, {})},
                           ElementDType());
  ASSERT_FALSE(wrong_shape.ok());
  EXPECT_NE(wrong_shape.status().ToString().find("the item is float32[3] but the list holds float32 [2]"),
            std::string::npos)
      << wrong_shape.status().ToString();

  auto wrong_dtype = RunOp("TensorListGetItem", {list, Tensor::Scalar<int32_t>(0), UnknownShape()},
                           ElementDType(DType::kInt32));
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_NE(wrong_dtype.status().ToString().find("holds float32 items but the op reads int32"), std::string::npos)
      << wrong_dtype.status().ToString();

  KILN_ASSERT_OK_AND_ASSIGN(auto unknown, RunOp("TensorListReserve", {UnknownShape(), Tensor::Scalar<int32_t>(2)},
                                                ElementDType()));
  auto unset = RunOp("TensorListGetItem", {unknown[0], Tensor::Scalar<int32_t>(0), UnknownShape()}, ElementDType());
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().ToString().find("item 0 was never set and its shape <unknown> is not fully known"),
            std::string::npos)
      << unset.status().ToString();

  auto negative = RunOp("TensorListReserve", {Shape1D({2}), Tensor::Scalar<int32_t>(-5)}, ElementDType());
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().ToString().find("num_elements is -5; it must be in [0, "), std::string::npos)
      << negative.status().ToString();

  auto not_a_list = RunOp("TensorListLength", {Tensor::Scalar<float>(1)});
  ASSERT_FALSE(not_a_list.ok());
}

}  // namespace
}  // namespace kiln
