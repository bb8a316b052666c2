#pragma once
// The conversion record (assets/kiln/conversion.json): what a converted model was made from and
// with, and why each node that stayed native did, so `kiln summary` can report it later.

#include <map>
#include <string>
#include <vector>

#include "kiln/converter.h"

namespace kiln::convert {

struct ConversionRecord {
  std::string kiln_version;
  std::string source;  // the model converted
  ConversionParams params;
  int total_ops = 0;
  std::vector<ConversionSummary::NativeNode> native_nodes;
  std::vector<std::string> notes;
  // Signature tensor name -> its dims' symbolic names (ONNX dim_param; "" for a dim without one),
  // which a SavedModel signature cannot hold.
  std::map<std::string, std::vector<std::string>> dim_names;
};

// The record's symbolic dim names put back on a loaded converted model's signature.
void RestoreDimNames(const ConversionRecord& record, SignatureInfo& signature);

Status WriteConversionRecord(const std::string& path, const ConversionRecord& record);
StatusOr<ConversionRecord> ReadConversionRecord(const std::string& path);

}  // namespace kiln::convert
