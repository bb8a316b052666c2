#pragma once

#include <fmt/core.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "kiln/converter.h"
#include "kiln/model.h"
#include "kiln/status.h"

namespace kiln::cli {

// Prints "kiln: error: <status>" to stderr and exits with status 1.
[[noreturn]] void Die(const Status& status);

template <typename T>
T OrDie(StatusOr<T> v) {
  if (!v.ok()) Die(v.status());
  return std::move(v).value();
}

// Splits "a,b" into {"a","b"}.
std::vector<std::string> SplitComma(const std::string& s);

// Reads "NAME=file.npy" pairs and "file.npz" archives into named tensors.
StatusOr<std::map<std::string, Tensor>> ReadInputs(const std::vector<std::string>& pairs,
                                                   const std::vector<std::string>& npz_files);

// Input sets from an .npz whose arrays are named like the inputs, cut into batches of `batch_size`
// along dim 0.
StatusOr<std::vector<InputSet>> NpzBatches(const std::string& path, int batch_size);

// "DT_FLOAT", as TensorFlow's tools print dtypes.
std::string TfDTypeName(DType dtype);

}  // namespace kiln::cli
