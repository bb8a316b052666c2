#pragma once

#include "ir/attr.h"
#include "proto/graph.pb.h"

namespace kiln::savedmodel {

// Converts a TensorFlow AttrValue to kiln's attribute value. Function-attr placeholders are
// refused: kiln imports concrete functions, which have none.
StatusOr<ir::AttrValue> ConvertAttr(const tfproto::AttrValue& value);

// Converts every attribute of a NodeDef, skipping TensorFlow's internal ones ("_" prefix).
StatusOr<ir::AttrMap> ConvertNodeAttrs(const tfproto::NodeDef& node);

}  // namespace kiln::savedmodel
