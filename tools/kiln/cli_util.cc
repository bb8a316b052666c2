#include "cli_util.h"

#include <algorithm>
#include <cstring>

#include "io/npy.h"

namespace kiln::cli {

void Die(const Status& status) {
  fmt::print(stderr, "kiln: error: {}\n", status.ToString());
  std::exit(1);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

StatusOr<std::map<std::string, Tensor>> ReadInputs(const std::vector<std::string>& pairs,
                                                   const std::vector<std::string>& npz_files) {
  std::map<std::string, Tensor> inputs;
  for (const auto& file : npz_files) {
    KILN_ASSIGN_OR_RETURN(io::NamedTensors all, io::ReadNpz(file));
    for (auto& [name, t] : all) inputs[name] = std::move(t);
  }
  for (const auto& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      return InvalidArgument("--input '" + pair + "' is not of the form NAME=file.npy");
    }
    const std::string name = pair.substr(0, eq);
    const std::string path = pair.substr(eq + 1);
    KILN_ASSIGN_OR_RETURN(Tensor t, io::ReadNpy(path));
    inputs[name] = std::move(t);
  }
  return inputs;
}

std::string TfDTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "DT_FLOAT";
    case DType::kFloat16: return "DT_HALF";
    case DType::kBFloat16: return "DT_BFLOAT16";
    case DType::kFloat64: return "DT_DOUBLE";
    case DType::kInt8: return "DT_INT8";
    case DType::kUInt8: return "DT_UINT8";
    case DType::kInt16: return "DT_INT16";
    case DType::kUInt16: return "DT_UINT16";
    case DType::kInt32: return "DT_INT32";
    case DType::kInt64: return "DT_INT64";
    case DType::kUInt32: return "DT_UINT32";
    case DType::kUInt64: return "DT_UINT64";
    case DType::kBool: return "DT_BOOL";
    case DType::kString: return "DT_STRING";
    case DType::kVariant: return "DT_VARIANT";
    case DType::kInvalid: return "DT_INVALID";
  }
  return "DT_INVALID";
}

StatusOr<std::vector<InputSet>> NpzBatches(const std::string& path, int batch_size) {
  KILN_ASSIGN_OR_RETURN(io::NamedTensors arrays, io::ReadNpz(path));
  if (arrays.empty()) return InvalidArgument("the archive holds no arrays").InFile(path);
  int64_t rows = -1;
  for (const auto& [name, t] : arrays) {
    if (t.rank() == 0)
      return InvalidArgument("array '" + name + "' is a scalar; it needs a batch dimension").InFile(path);
    if (rows >= 0 && t.dim(0) != rows) {
      return InvalidArgument("the arrays disagree on the number of samples (dim 0)").InFile(path);
    }
    rows = t.dim(0);
  }
  std::vector<InputSet> sets;
  for (int64_t start = 0; start < rows; start += batch_size) {
    const int64_t n = std::min<int64_t>(batch_size, rows - start);
    InputSet set;
    for (const auto& [name, t] : arrays) {
      Shape shape = t.shape();
      shape[0] = n;
      Tensor slice(t.dtype(), shape);
      const size_t row_bytes = t.byte_size() / static_cast<size_t>(rows);
      std::memcpy(slice.raw_data(), static_cast<const char*>(t.raw_data()) + start * row_bytes, n * row_bytes);
      set[name] = slice;
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

}  // namespace kiln::cli
