// kiln's proto/onnx.proto declares ONNX's messages with ONNX's own field and enum numbers
// (checked against the onnx package's descriptors, dumped at fixture time).
#include <fstream>
#include <nlohmann/json.hpp>

#include "frontends/onnx/op_versions.h"
#include "proto/onnx.pb.h"
#include "util/test_util.h"

namespace kiln {
namespace {

void CheckMessage(const google::protobuf::Descriptor* d, const std::string& name, const nlohmann::json& ref,
                  int& checked) {
  ASSERT_TRUE(ref["messages"].contains(name)) << "onnx has no message " << name;
  const auto& fields = ref["messages"][name];
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    ASSERT_TRUE(fields.contains(f->name())) << name << " has no field " << f->name() << " in onnx";
    EXPECT_EQ(f->number(), fields[f->name()].get<int>()) << name << "." << f->name();
    ++checked;
  }
  for (int i = 0; i < d->enum_type_count(); ++i) {
    const auto* e = d->enum_type(i);
    const auto& values = ref["enums"][name + "." + e->name()];
    for (int v = 0; v < e->value_count(); ++v) {
      ASSERT_TRUE(values.contains(e->value(v)->name())) << e->full_name() << "." << e->value(v)->name();
      EXPECT_EQ(e->value(v)->number(), values[e->value(v)->name()].get<int>()) << e->value(v)->full_name();
    }
  }
  for (int i = 0; i < d->nested_type_count(); ++i) {
    CheckMessage(d->nested_type(i), name + "." + d->nested_type(i)->name(), ref, checked);
  }
}

TEST(OnnxProtoTest, FieldNumbersMatchTheOnnxPackage) {
  const std::string path = testing::FixturePath("onnx_proto") + "/fields.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << ": run scripts/make_fixtures.py";
  const nlohmann::json ref = nlohmann::json::parse(in);
  const auto* file = onnxproto::ModelProto::descriptor()->file();
  int checked = 0;
  for (int i = 0; i < file->message_type_count(); ++i) {
    CheckMessage(file->message_type(i), file->message_type(i)->name(), ref, checked);
  }
  EXPECT_GT(checked, 60);
}

// The table of which opsets define each op as opset 13 does is the onnx package's.
TEST(OnnxOpVersionsTest, TableMatchesTheOnnxPackage) {
  const std::string path = testing::FixturePath("onnx_op_versions") + "/versions.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << ": run scripts/make_fixtures.py";
  const nlohmann::json ref = nlohmann::json::parse(in);
  ASSERT_GT(ref.size(), 100u);
  for (const auto& [op, since] : ref.items()) {
    EXPECT_EQ(onnx::DefinedAsAtOpset13Since(op), since.get<int64_t>()) << op;
  }
  EXPECT_EQ(onnx::DefinedAsAtOpset13Since("LayerNormalization"), 0);  // appeared at 17
}

}  // namespace
}  // namespace kiln
