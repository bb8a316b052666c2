// kiln's op registry against TensorFlow's own OpDefs: SavedModels strip attributes equal to their
// defaults and name outputs by argument, so defaults and output layouts must be TensorFlow's.
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "frontends/savedmodel/tensor_proto.h"
#include "ir/op_registry.h"
#include "util/test_util.h"

namespace kiln {
namespace {

using nlohmann::json;

// Empty when kiln's default equals TensorFlow's, else what differs.
std::string CompareDefault(const ir::AttrValue& mine, const json& tf) {
  const std::string kind = tf["kind"];
  const json& v = tf["value"];
  auto differs = [&](const std::string& what) { return "default " + what + " differs from TensorFlow's " + v.dump(); };
  if (kind == "int") return std::holds_alternative<int64_t>(mine) && std::get<int64_t>(mine) == v.get<int64_t>() ? "" : differs("int");
  if (kind == "float") {
    const float want = v.is_string() ? std::stof(v.get<std::string>()) : v.get<float>();
    if (!std::holds_alternative<float>(mine)) return differs("float");
    const float have = std::get<float>(mine);
    const bool same = have == want || (std::isnan(have) && std::isnan(want)) ||
                      std::fabs(have - want) <= 1e-7f * (1 + std::fabs(want));
    return same ? "" : differs("float");
  }
  if (kind == "bool") return std::holds_alternative<bool>(mine) && std::get<bool>(mine) == v.get<bool>() ? "" : differs("bool");
  if (kind == "string") return std::holds_alternative<std::string>(mine) && std::get<std::string>(mine) == v.get<std::string>() ? "" : differs("string");
  if (kind == "type") {
    auto d = savedmodel::DTypeFromProto(v.get<int>());
    return d.ok() && std::holds_alternative<DType>(mine) && std::get<DType>(mine) == *d ? "" : differs("type");
  }
  if (kind == "list(int)") {
    return std::holds_alternative<std::vector<int64_t>>(mine) && std::get<std::vector<int64_t>>(mine) == v.get<std::vector<int64_t>>()
               ? "" : differs("list(int)");
  }
  if (kind == "list(string)") {
    return std::holds_alternative<std::vector<std::string>>(mine) &&
                   std::get<std::vector<std::string>>(mine) == v.get<std::vector<std::string>>()
               ? "" : differs("list(string)");
  }
  if (kind == "list(type)") {
    if (!std::holds_alternative<std::vector<DType>>(mine)) return differs("list(type)");
    std::vector<DType> want;
    for (int t : v.get<std::vector<int>>()) want.push_back(*savedmodel::DTypeFromProto(t));
    return std::get<std::vector<DType>>(mine) == want ? "" : differs("list(type)");
  }
  if (kind == "list(empty)") {
    return std::visit(
        [](const auto& x) -> std::string {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, std::vector<int64_t>> || std::is_same_v<X, std::vector<float>> ||
                        std::is_same_v<X, std::vector<std::string>> || std::is_same_v<X, std::vector<DType>> ||
                        std::is_same_v<X, std::vector<bool>> || std::is_same_v<X, std::vector<PartialShape>>) {
            return x.empty() ? "" : "default should be an empty list";
          } else {
            return "default should be an empty list";
          }
        },
        mine);
  }
  return "";  // shapes and tensors: not compared
}

TEST(OpRegistryTfTest, DefaultsAndOutputLayoutsMatchTensorFlow) {
  const std::string path = testing::FixturePath("op_defs/tf_op_defs.json");
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path << ": run scripts/make_fixtures.py";
  const json tf = json::parse(in);
  std::vector<std::string> problems;
  int compared = 0;
  for (const std::string& name : ir::OpRegistry::Global().OpNames()) {
    if (!tf.contains(name)) continue;
    ++compared;
    const ir::OpDef& mine = *ir::OpRegistry::Global().Find(name);
    const json& theirs = tf[name];
    const json& outs = theirs["outputs"];
    bool same_outputs = outs.size() == mine.outputs.size();
    for (size_t i = 0; same_outputs && i < outs.size(); ++i) {
      same_outputs = outs[i]["name"] == mine.outputs[i].name && outs[i]["number_attr"] == mine.outputs[i].number_attr &&
                     outs[i]["type_list_attr"] == mine.outputs[i].type_list_attr;
    }
    if (!same_outputs) problems.push_back(name + ": output arguments differ from TensorFlow's " + outs.dump());
    for (const auto& [attr, def] : theirs["attrs"].items()) {
      if (def.is_null()) continue;
      const ir::AttrDef* a = nullptr;
      for (const auto& x : mine.attrs)
        if (x.name == attr) a = &x;
      if (a == nullptr) {
        problems.push_back(name + ": attribute '" + attr + "' (TensorFlow default " + def["value"].dump() + ") is not declared");
      } else if (!a->default_value) {
        problems.push_back(name + ": attribute '" + attr + "' has no default; TensorFlow's is " + def["value"].dump());
      } else if (std::string d = CompareDefault(*a->default_value, def); !d.empty()) {
        problems.push_back(name + ": attribute '" + attr + "' " + d);
      }
    }
  }
  EXPECT_GT(compared, 150);
  std::string all;
  for (const auto& p : problems) all += "\n  " + p;
  EXPECT_TRUE(problems.empty()) << problems.size() << " mismatches:" << all;
}

}  // namespace
}  // namespace kiln
