#pragma once
// Conversions between TensorFlow's DataType / TensorShapeProto / TensorProto and kiln's
// DType / PartialShape / Tensor.

#include "kiln/dtype.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "proto/tensor.pb.h"

namespace kiln::savedmodel {

// TensorFlow's DataType number (DT_FLOAT = 1, ...) to kiln's DType; an unsupported dtype is an
// error naming it ("unsupported TensorFlow dtype 8 (DT_COMPLEX64)").
StatusOr<DType> DTypeFromProto(int tf_dtype);
// kiln's DType to TensorFlow's DataType number; kInvalid maps to DT_INVALID (0).
int DTypeToProto(DType dtype);

// A shape that may be partly unknown (unknown_rank, or dims of -1), as placeholders declare.
StatusOr<PartialShape> ShapeFromProto(const tfproto::TensorShapeProto& proto);
// A shape every dim of which is known, as a tensor's must be; its element count must fit int64.
StatusOr<Shape> ConcreteShapeFromProto(const tfproto::TensorShapeProto& proto);
void ShapeToProto(const PartialShape& shape, tfproto::TensorShapeProto* proto);
void ShapeToProto(const Shape& shape, tfproto::TensorShapeProto* proto);

// Reads tensor_content (raw little-endian bytes, size checked against the shape) or else the
// dtype's typed list (float_val, int_val, half_val, string_val, ...), where a list shorter than
// the shape repeats its last value and an empty list means zeros.
StatusOr<Tensor> TensorFromProto(const tfproto::TensorProto& proto);
// Writes numeric tensors as tensor_content and strings as string_val, as TensorFlow does.
void TensorToProto(const Tensor& tensor, tfproto::TensorProto* proto);

}  // namespace kiln::savedmodel
