// TEMPORARY local check against ONNX's backend test cases dumped to /tmp/onnxgen/cases.json.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/test_util.h"

namespace kiln {
namespace {

DType ParseDType(const std::string& s) {
  static const std::map<std::string, DType> m = {
      {"float32", DType::kFloat32}, {"float64", DType::kFloat64}, {"float16", DType::kFloat16},
      {"int8", DType::kInt8},       {"uint8", DType::kUInt8},     {"int16", DType::kInt16},
      {"uint16", DType::kUInt16},   {"int32", DType::kInt32},     {"int64", DType::kInt64},
      {"bool", DType::kBool},       {"string", DType::kString}};
  return m.at(s);
}

Tensor FromJson(const nlohmann::json& j) {
  const DType dt = ParseDType(j["dtype"]);
  Shape shape = j["shape"].get<Shape>();
  Tensor t(dt, shape);
  const auto& v = j["values"];
  for (size_t i = 0; i < v.size(); ++i) {
    double d = 0;
    if (v[i].is_null()) {
      d = NAN;
    } else if (v[i].is_string()) {
      d = v[i].get<std::string>() == "inf" ? INFINITY : -INFINITY;
    } else if (dt != DType::kInt64) {
      d = v[i].get<double>();
    }
    switch (dt) {
      case DType::kFloat32: t.data<float>()[i] = static_cast<float>(d); break;
      case DType::kFloat64: t.data<double>()[i] = d; break;
      case DType::kFloat16: t.data<Half>()[i] = FloatToHalf(static_cast<float>(d)); break;
      case DType::kInt8: t.data<int8_t>()[i] = static_cast<int8_t>(d); break;
      case DType::kUInt8: t.data<uint8_t>()[i] = static_cast<uint8_t>(d); break;
      case DType::kInt16: t.data<int16_t>()[i] = static_cast<int16_t>(d); break;
      case DType::kUInt16: t.data<uint16_t>()[i] = static_cast<uint16_t>(d); break;
      case DType::kInt32: t.data<int32_t>()[i] = static_cast<int32_t>(d); break;
      case DType::kInt64: t.data<int64_t>()[i] = v[i].get<int64_t>(); break;
      case DType::kBool: t.data<bool>()[i] = v[i].get<bool>(); break;
      default: break;
    }
  }
  return t;
}

TEST(OnnxConformanceTmp, AllCases) {
  std::ifstream f("/tmp/onnxgen/cases.json");
  ASSERT_TRUE(f.good());
  const nlohmann::json cases = nlohmann::json::parse(f);
  int run = 0, skipped = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"], op = c["op"];
    bool exotic = false;
    for (const auto& t : c["inputs"]) exotic |= t["dtype"] == "string";
    for (const auto& t : c["outputs"]) exotic |= t["dtype"] == "string";
    if (exotic || c["outputs"].size() > 2 || (op == "MaxPool" && c["outputs"].size() > 1) || c["attrs"].contains("precision")) {
      ++skipped;
      continue;
    }
    ir::AttrMap attrs;
    for (auto it = c["attrs"].begin(); it != c["attrs"].end(); ++it) {
      const auto& v = it.value();
      if (it.key() == "storage_order") continue;
      if (it.key() == "output_dtype") {
        const int64_t t = v.get<int64_t>();
        attrs.Set("output_dtype", t == 2 ? DType::kUInt8 : t == 3 ? DType::kInt8 : t == 4 ? DType::kUInt16 : t == 5 ? DType::kInt16 : DType::kInvalid);
      } else if (v.is_number_integer()) {
        attrs.Set(it.key(), v.get<int64_t>());
      } else if (v.is_number_float()) {
        attrs.Set(it.key(), v.get<float>());
      } else if (v.is_string()) {
        attrs.Set(it.key(), v.get<std::string>());
      } else if (v.is_array() && (v.empty() || v[0].is_number_integer())) {
        attrs.Set(it.key(), v.get<std::vector<int64_t>>());
      } else if (v.is_array()) {
        attrs.Set(it.key(), v.get<std::vector<float>>());
      }
    }
    std::string kop = op;
    int want_inputs = static_cast<int>(c["input_names"].size());
    if (op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
      kop = "OnnxPool";
      attrs.Set("mode", std::string(op == "MaxPool" ? "max" : op == "AveragePool" ? "avg" : "lp"));
    } else if (op == "Reshape" || op == "Slice" || op == "Resize" || op == "TopK") {
      kop = "Onnx" + op;
    }
    if (kop == "OnnxSlice") want_inputs = 5;
    if (kop == "OnnxResize") want_inputs = 4;
    if (op == "QuantizeLinear" || op == "DequantizeLinear") want_inputs = 3;
    std::vector<Tensor> inputs;
    size_t next = 0;
    for (int i = 0; i < want_inputs; ++i) {
      const bool named = i < static_cast<int>(c["input_names"].size()) && c["input_names"][i] != "";
      if (named) {
        inputs.push_back(FromJson(c["inputs"][next++]));
      } else {
        inputs.push_back(Tensor(DType::kInt64, {0}));
      }
    }
    for (bool ph : {false, true}) {
      auto r = testing::RunOp(kop, inputs, attrs, ph);
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      for (size_t o = 0; o < c["outputs"].size(); ++o) {
        EXPECT_TRUE(testing::TensorsNear((*r)[o], FromJson(c["outputs"][o]), 1e-4, 1e-4)) << name << " output " << o << (ph ? " ph" : "");
      }
    }
    ++run;
  }
  std::cout << run << " run, " << skipped << " skipped\n";
}

}  // namespace
}  // namespace kiln
