#pragma once
// NumPy .npy and .npz files: how kiln's CLI and tests exchange tensors with Python.

#include <string>
#include <utility>
#include <vector>

#include "kiln/status.h"
#include "kiln/tensor.h"

namespace kiln::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Parses .npy bytes (format 1.0-3.0, little-endian, C order; numeric and bool dtypes).
// `where` names the source in errors.
StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& where);
StatusOr<Tensor> ReadNpy(const std::string& path);
std::string SerializeNpy(const Tensor& tensor);
Status WriteNpy(const std::string& path, const Tensor& tensor);

// Reads every array of an .npz archive (stored or deflated entries), keyed without ".npy",
// in archive order.
StatusOr<NamedTensors> ReadNpz(const std::string& path);
// Writes an uncompressed .npz archive, as numpy.savez does.
Status WriteNpz(const std::string& path, const NamedTensors& tensors);

// Whole-file helpers with errors that name the file.
StatusOr<std::string> ReadFile(const std::string& path);
Status WriteFile(const std::string& path, const std::string& bytes);

}  // namespace kiln::io
