#pragma once
// Conversions between ONNX's element types / TensorProto and kiln's DType / Tensor, including
// tensors whose bytes live in an external-data file beside the model.

#include <string>

#include "kiln/dtype.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "proto/onnx.pb.h"

namespace kiln::onnx {

// ONNX's TensorProto.DataType number (FLOAT = 1, ...) to kiln's DType; a type kiln has no
// DType for is an error naming it ("ONNX element type 17 (FLOAT8E4M3FN) is not supported").
StatusOr<DType> DTypeFromOnnx(int elem_type);
int DTypeToOnnx(DType dtype);
// "FLOAT", "INT64", ... or the number when unknown.
std::string OnnxTypeName(int elem_type);

// Reads raw_data, the typed lists (float_data, int32_data, int64_data, ...) or, for
// data_location EXTERNAL, `length` bytes at `offset` of `location` relative to `model_dir`.
// Sizes are checked against the dims; errors name the tensor.
StatusOr<Tensor> TensorFromOnnx(const onnxproto::TensorProto& proto, const std::string& model_dir);
// Writes raw_data (numeric) or string_data.
void TensorToOnnx(const Tensor& tensor, onnxproto::TensorProto* proto);

}  // namespace kiln::onnx
