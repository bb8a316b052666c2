#include "frontends/savedmodel/tensor_proto.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace kiln::savedmodel {
namespace {

tfproto::TensorProto ProtoFromHex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  tfproto::TensorProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes)) << hex;
  return proto;
}

tfproto::TensorProto MakeProto(tfproto::DataType dtype, const Shape& shape) {
  tfproto::TensorProto proto;
  proto.set_dtype(dtype);
  ShapeToProto(shape, proto.mutable_tensor_shape());
  return proto;
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

Tensor FromProtoOrDie(const tfproto::TensorProto& proto) {
  StatusOr<Tensor> t = TensorFromProto(proto);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : Tensor();
}

TEST(TensorProtoTest, DTypesRoundTrip) {
  for (DType d : {DType::kFloat32, DType::kFloat16, DType::kBFloat16, DType::kFloat64, DType::kInt8, DType::kUInt8,
                  DType::kInt16, DType::kUInt16, DType::kInt32, DType::kInt64, DType::kUInt32, DType::kUInt64,
                  DType::kBool, DType::kString, DType::kFloat8E4M3FN}) {
    StatusOr<DType> back = DTypeFromProto(DTypeToProto(d));
    ASSERT_TRUE(back.ok()) << DTypeName(d);
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(DTypeToProto(DType::kFloat32), 1);
  EXPECT_EQ(DTypeToProto(DType::kFloat16), 19);
  EXPECT_EQ(DTypeToProto(DType::kBFloat16), 14);
  EXPECT_EQ(DTypeToProto(DType::kUInt64), 23);
}

TEST(TensorProtoTest, UnsupportedDTypesAreNamed) {
  StatusOr<DType> complex = DTypeFromProto(tfproto::DT_COMPLEX64);
  ASSERT_FALSE(complex.ok());
  EXPECT_EQ(complex.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(complex.status().message().find("8 (DT_COMPLEX64)"), std::string::npos) << complex.status().ToString();
  EXPECT_FALSE(DTypeFromProto(tfproto::DT_FLOAT_REF).ok());
  EXPECT_FALSE(DTypeFromProto(tfproto::DT_RESOURCE).ok());
  StatusOr<DType> unknown = DTypeFromProto(999);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("999"), std::string::npos);
  EXPECT_FALSE(DTypeFromProto(0).ok());
}

TEST(TensorProtoTest, Shapes) {
  tfproto::TensorShapeProto proto;
  StatusOr<PartialShape> scalar = ShapeFromProto(proto);
  ASSERT_TRUE(scalar.ok());
  EXPECT_EQ(*scalar, PartialShape::Known({}));

  proto.set_unknown_rank(true);
  EXPECT_EQ(*ShapeFromProto(proto), PartialShape::Unknown());
  proto.add_dim()->set_size(3);
  EXPECT_FALSE(ShapeFromProto(proto).ok());  // unknown rank yet dims listed

  ShapeToProto(PartialShape::Known({-1, 28, 28, 1}), &proto);
  EXPECT_FALSE(proto.unknown_rank());
  EXPECT_EQ(*ShapeFromProto(proto), PartialShape::Known({-1, 28, 28, 1}));
  EXPECT_FALSE(ConcreteShapeFromProto(proto).ok());

  ShapeToProto(Shape{2, 0, 5}, &proto);
  EXPECT_EQ(*ConcreteShapeFromProto(proto), (Shape{2, 0, 5}));
  proto.add_dim()->set_size(-7);
  EXPECT_FALSE(ShapeFromProto(proto).ok());

  ShapeToProto(Shape{int64_t{1} << 40, int64_t{1} << 40}, &proto);
  EXPECT_FALSE(ConcreteShapeFromProto(proto).ok());  // element count overflows int64
}

TEST(TensorProtoTest, ContentAndTypedListsAgree) {
  tfproto::TensorProto content = MakeProto(tfproto::DT_FLOAT, {2, 2});
  const float values[4] = {1.5f, -2.0f, 0.0f, 3.25f};
  content.set_tensor_content(std::string(reinterpret_cast<const char*>(values), sizeof(values)));
  tfproto::TensorProto typed = MakeProto(tfproto::DT_FLOAT, {2, 2});
  for (float v : values) typed.add_float_val(v);

  Tensor a = FromProtoOrDie(content), b = FromProtoOrDie(typed);
  EXPECT_EQ(a.dtype(), DType::kFloat32);
  EXPECT_EQ(a.shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<float>(a), Values<float>(b));
  EXPECT_EQ(Values<float>(a), (std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f}));
}

TEST(TensorProtoTest, ShortListsRepeatTheirLastValue) {
  tfproto::TensorProto f = MakeProto(tfproto::DT_FLOAT, {5});
  f.add_float_val(1.0f);
  f.add_float_val(2.0f);
  EXPECT_EQ(Values<float>(FromProtoOrDie(f)), (std::vector<float>{1, 2, 2, 2, 2}));

  tfproto::TensorProto i8 = MakeProto(tfproto::DT_INT8, {3});
  i8.add_int_val(-5);
  EXPECT_EQ(Values<int8_t>(FromProtoOrDie(i8)), (std::vector<int8_t>{-5, -5, -5}));

  tfproto::TensorProto u16 = MakeProto(tfproto::DT_UINT16, {2});
  u16.add_int_val(65535);
  EXPECT_EQ(Values<uint16_t>(FromProtoOrDie(u16)), (std::vector<uint16_t>{65535, 65535}));

  tfproto::TensorProto i64 = MakeProto(tfproto::DT_INT64, {2});
  i64.add_int64_val(int64_t{1} << 40);
  EXPECT_EQ(Values<int64_t>(FromProtoOrDie(i64)), (std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40}));

  tfproto::TensorProto u64 = MakeProto(tfproto::DT_UINT64, {2});
  u64.add_uint64_val(~uint64_t{0});
  u64.add_uint64_val(3);
  EXPECT_EQ(Values<uint64_t>(FromProtoOrDie(u64)), (std::vector<uint64_t>{~uint64_t{0}, 3}));

  tfproto::TensorProto u32 = MakeProto(tfproto::DT_UINT32, {3});
  u32.add_uint32_val(4000000000u);
  EXPECT_EQ(Values<uint32_t>(FromProtoOrDie(u32)), (std::vector<uint32_t>{4000000000u, 4000000000u, 4000000000u}));

  tfproto::TensorProto f64 = MakeProto(tfproto::DT_DOUBLE, {2});
  f64.add_double_val(0.1);
  EXPECT_EQ(Values<double>(FromProtoOrDie(f64)), (std::vector<double>{0.1, 0.1}));

  tfproto::TensorProto b = MakeProto(tfproto::DT_BOOL, {3});
  b.add_bool_val(false);
  b.add_bool_val(true);
  EXPECT_EQ(Values<bool>(FromProtoOrDie(b)), (std::vector<bool>{false, true, true}));

  tfproto::TensorProto s = MakeProto(tfproto::DT_STRING, {2, 2});
  s.add_string_val("x");
  s.add_string_val("yz");
  EXPECT_EQ(FromProtoOrDie(s).strings(), (std::vector<std::string>{"x", "yz", "yz", "yz"}));
}

TEST(TensorProtoTest, EmptyListsMeanZeros) {
  EXPECT_EQ(Values<int32_t>(FromProtoOrDie(MakeProto(tfproto::DT_INT32, {3}))), (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(FromProtoOrDie(MakeProto(tfproto::DT_STRING, {2})).strings(), (std::vector<std::string>{"", ""}));
  Tensor empty = FromProtoOrDie(MakeProto(tfproto::DT_FLOAT, {0, 4}));
  EXPECT_EQ(empty.shape(), (Shape{0, 4}));
  EXPECT_EQ(empty.num_elements(), 0);
}

TEST(TensorProtoTest, HalfValHoldsFloat16AndBFloat16Bits) {
  tfproto::TensorProto h = MakeProto(tfproto::DT_HALF, {3});
  h.add_half_val(0x3c00);  // 1.0
  h.add_half_val(0xfc00);  // -inf
  Tensor ht = FromProtoOrDie(h);
  EXPECT_EQ(ht.dtype(), DType::kFloat16);
  EXPECT_EQ(Values<uint16_t>(ht), (std::vector<uint16_t>{0x3c00, 0xfc00, 0xfc00}));

  tfproto::TensorProto bf = MakeProto(tfproto::DT_BFLOAT16, {1});
  bf.add_half_val(0xc049);  // -3.140625
  Tensor bt = FromProtoOrDie(bf);
  EXPECT_EQ(bt.dtype(), DType::kBFloat16);
  EXPECT_EQ(BFloat16ToFloat(bt.data<BFloat16>()[0]), -3.140625f);
}

TEST(TensorProtoTest, Float8TravelsAsItsBytes) {
  tfproto::TensorProto f = MakeProto(tfproto::DT_FLOAT8_E4M3FN, {3});
  f.set_float8_val(std::string("\x38\xc0", 2));  // 1.0, -2.0, then -2.0 repeated
  Tensor t = FromProtoOrDie(f);
  EXPECT_EQ(t.dtype(), DType::kFloat8E4M3FN);
  EXPECT_EQ(t.ToFloatVector(), (std::vector<float>{1.0f, -2.0f, -2.0f}));
  tfproto::TensorProto written;
  TensorToProto(t, &written);
  EXPECT_EQ(written.dtype(), tfproto::DT_FLOAT8_E4M3FN);
  Tensor back = FromProtoOrDie(written);
  EXPECT_EQ(back.ToFloatVector(), t.ToFloatVector());
}

// Bytes serialized by TensorFlow 2.21 (tf.make_tensor_proto and Const nodes of a traced function).
TEST(TensorProtoTest, ReadsTensorFlowSerializedProtos) {
  Tensor splat = FromProtoOrDie(ProtoFromHex("0801120812020802120208032a0400004040"));  // 3.0, shape [2,3]
  EXPECT_EQ(splat.shape(), (Shape{2, 3}));
  EXPECT_EQ(Values<float>(splat), std::vector<float>(6, 3.0f));

  Tensor f16 = FromProtoOrDie(ProtoFromHex("08131204120208036a02807c"));  // float16 1.5, shape [3]
  EXPECT_EQ(Values<uint16_t>(f16), (std::vector<uint16_t>{0x3e00, 0x3e00, 0x3e00}));
  Tensor bf16 = FromProtoOrDie(ProtoFromHex("080e1204120208026a02c07f"));  // bfloat16 1.5, shape [2]
  EXPECT_EQ(bf16.dtype(), DType::kBFloat16);
  EXPECT_EQ(Values<uint16_t>(bf16), (std::vector<uint16_t>{0x3fc0, 0x3fc0}));

  Tensor i32 = FromProtoOrDie(ProtoFromHex("080312081202080212020802221001000000feffffff03000000ffffff7f"));
  EXPECT_EQ(Values<int32_t>(i32), (std::vector<int32_t>{1, -2, 3, 2147483647}));

  Tensor strings = FromProtoOrDie(ProtoFromHex("08071204120208034202616242004201ff"));
  EXPECT_EQ(strings.strings(), (std::vector<std::string>{"ab", "", "\xff"}));

  Tensor bools = FromProtoOrDie(ProtoFromHex("080a1204120208035a03010001"));
  EXPECT_EQ(Values<bool>(bools), (std::vector<bool>{true, false, true}));

  Tensor i64 = FromProtoOrDie(ProtoFromHex("08091200520107"));  // scalar int64 7
  EXPECT_EQ(i64.shape(), Shape{});
  EXPECT_EQ(Values<int64_t>(i64), (std::vector<int64_t>{7}));

  Tensor zeros = FromProtoOrDie(ProtoFromHex("0813120812020802120208026a0100"));  // tf.zeros([2,2], float16)
  EXPECT_EQ(Values<uint16_t>(zeros), (std::vector<uint16_t>{0, 0, 0, 0}));
}

TEST(TensorProtoTest, SizeMismatchesAreRejected) {
  tfproto::TensorProto short_content = MakeProto(tfproto::DT_FLOAT, {2});
  short_content.set_tensor_content(std::string(7, '\0'));
  StatusOr<Tensor> t = TensorFromProto(short_content);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("7 bytes"), std::string::npos) << t.status().ToString();

  tfproto::TensorProto content_for_empty = MakeProto(tfproto::DT_INT32, {0});
  content_for_empty.set_tensor_content(std::string(4, '\0'));
  EXPECT_FALSE(TensorFromProto(content_for_empty).ok());

  tfproto::TensorProto long_list = MakeProto(tfproto::DT_INT32, {2});
  for (int i = 0; i < 3; ++i) long_list.add_int_val(i);
  EXPECT_EQ(TensorFromProto(long_list).status().code(), StatusCode::kInvalidArgument);

  tfproto::TensorProto long_strings = MakeProto(tfproto::DT_STRING, {1});
  long_strings.add_string_val("a");
  long_strings.add_string_val("b");
  EXPECT_FALSE(TensorFromProto(long_strings).ok());

  tfproto::TensorProto string_content = MakeProto(tfproto::DT_STRING, {1});
  string_content.set_tensor_content("abcd");
  EXPECT_FALSE(TensorFromProto(string_content).ok());

  tfproto::TensorProto unknown_dim = MakeProto(tfproto::DT_FLOAT, {1});
  unknown_dim.mutable_tensor_shape()->mutable_dim(0)->set_size(-1);
  EXPECT_FALSE(TensorFromProto(unknown_dim).ok());

  // A one-value splat may describe a tensor far past the host's memory (MaxTensorBytes); that is
  // refused with the size it asked for, not attempted.
  tfproto::TensorProto huge = MakeProto(tfproto::DT_FLOAT, {int64_t{1} << 20, int64_t{1} << 20});
  huge.add_float_val(1.0f);
  const Status too_big = TensorFromProto(huge).status();
  EXPECT_EQ(too_big.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(too_big.message().find("needs 4398046511104 bytes"), std::string::npos) << too_big.ToString();
  EXPECT_NE(too_big.message().find("KILN_MAX_TENSOR_BYTES"), std::string::npos) << too_big.ToString();
  tfproto::TensorProto overflowing = MakeProto(tfproto::DT_FLOAT, {int64_t{1} << 40, int64_t{1} << 40});
  overflowing.add_float_val(1.0f);
  EXPECT_FALSE(TensorFromProto(overflowing).ok());
  // Elements that fit int64 but whose bytes do not (found by engine_file_fuzz: the message overflowed).
  tfproto::TensorProto past_int64_bytes = MakeProto(tfproto::DT_FLOAT, {int64_t{1} << 62});
  past_int64_bytes.add_float_val(1.0f);
  EXPECT_NE(TensorFromProto(past_int64_bytes).status().message().find("needs more than 2^63 bytes"), std::string::npos);
  tfproto::TensorProto huge_strings = MakeProto(tfproto::DT_STRING, {int64_t{1} << 40});
  huge_strings.add_string_val("abc");
  EXPECT_EQ(TensorFromProto(huge_strings).status().code(), StatusCode::kResourceExhausted);

  tfproto::TensorProto complex = MakeProto(tfproto::DT_COMPLEX64, {1});
  EXPECT_EQ(TensorFromProto(complex).status().code(), StatusCode::kUnimplemented);
}

TEST(TensorProtoTest, BoolContentIsNormalized) {
  tfproto::TensorProto proto = MakeProto(tfproto::DT_BOOL, {3});
  proto.set_tensor_content(std::string("\x00\x01\x07", 3));
  Tensor t = FromProtoOrDie(proto);
  EXPECT_EQ(std::memcmp(t.raw_data(), "\x00\x01\x01", 3), 0);
}

TEST(TensorProtoTest, ToProtoRoundTrips) {
  const std::vector<Tensor> tensors = {
      Tensor::FromVector<float>({2, 2}, {1.0f, -0.0f, 3.5f, 1e-40f}),
      Tensor::FromVector<Half>({2}, {Half{0x3c00}, Half{0x7e00}}),
      Tensor::FromVector<BFloat16>({1}, {BFloat16{0xc049}}),
      Tensor::FromVector<double>({}, {2.5}),
      Tensor::FromVector<int8_t>({3}, {-1, 0, 1}),
      Tensor::FromVector<uint8_t>({1}, {255}),
      Tensor::FromVector<int16_t>({1}, {-300}),
      Tensor::FromVector<uint16_t>({1}, {60000}),
      Tensor::FromVector<int32_t>({0, 3}, {}),
      Tensor::FromVector<int64_t>({2}, {int64_t{-1} << 40, 9}),
      Tensor::FromVector<uint32_t>({1}, {4000000000u}),
      Tensor::FromVector<uint64_t>({1}, {~uint64_t{0}}),
      Tensor::FromVector<bool>({2}, {true, false}),
      Tensor::Strings({3}, {"a", "", std::string("\0b", 2)}),
  };
  for (const Tensor& t : tensors) {
    tfproto::TensorProto proto;
    TensorToProto(t, &proto);
    EXPECT_EQ(proto.dtype(), DTypeToProto(t.dtype()));
    Tensor back = FromProtoOrDie(proto);
    ASSERT_EQ(back.dtype(), t.dtype()) << t.DebugString();
    ASSERT_EQ(back.shape(), t.shape()) << t.DebugString();
    if (t.dtype() == DType::kString) {
      EXPECT_EQ(back.strings(), t.strings());
    } else {
      ASSERT_EQ(back.byte_size(), t.byte_size());
      if (t.byte_size() > 0) EXPECT_EQ(std::memcmp(back.raw_data(), t.raw_data(), t.byte_size()), 0) << t.DebugString();
    }
  }
}

}  // namespace
}  // namespace kiln::savedmodel
