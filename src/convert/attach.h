#pragma once
// Brings a converted model's KilnEngineOp nodes to life when it is loaded: each gets its native
// segment (from the SavedModel's function library), its calibration ranges and the engines saved
// under assets/kiln/.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/table.h"
#include "engine/engine_op.h"
#include "ir/graph.h"
#include "kiln/model.h"
#include "proto/graph.pb.h"

namespace kiln::convert {

// <model>/assets/kiln and what it holds.
std::string KilnAssetsDir(const std::string& model_dir);
std::string EnginesDir(const std::string& model_dir);
std::string CalibrationTablePath(const std::string& model_dir);
std::string ConversionRecordPath(const std::string& model_dir);
// The file of the n-th engine of segment `segment`.
std::string EngineFilePath(const std::string& model_dir, const std::string& segment, int n);

// The calibrated ranges one segment's engine sees: its own tensors by name, its inputs by their
// Placeholder names (from the original tensors feeding them).
calibrate::CalibrationTable SegmentRanges(const engine::EngineOpSpec& spec, const ir::Graph& native,
                                         const calibrate::CalibrationTable& table);

// The engine ops of a converted model loaded as `options` say (LoadOptions): engines of the
// device's backend (those in the model's files that fit it, unless keep_precision pins layers the
// files were built without), the native segments running there too, or those alone without
// use_engines.
StatusOr<std::vector<std::unique_ptr<engine::EngineOp>>> AttachEngineOps(
    const ir::Graph& graph, const std::map<std::string, tfproto::FunctionDef>& functions, const std::string& model_dir,
    const LoadOptions& options);

}  // namespace kiln::convert
