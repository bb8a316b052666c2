#pragma once
// Where a converted model's accuracy goes (`kiln compare`): the converted model against its own
// segments' original ops run in float32 on the same inputs, per output and at every engine
// boundary; then, one layer at a time, each engine layer kept in a higher precision, to name the
// layers that lose the most and the keep_precision pin that recovers it.
//
//   auto report = kiln::CompareConvertedModel("mnist_int8", {{{"input_1", images}}});
//   std::cout << report->ToString();

#include <optional>
#include <string>
#include <vector>

#include "kiln/converter.h"

namespace kiln {

struct CompareOptions {
  Device device = Device::CPU();  // where both run (the converted one on that device's engines)
  bool find_layers = true;        // re-run with each engine layer in a higher precision, one at a time
  int max_layers = 64;            // layers tried at most, in graph order
};

// One tensor of the converted model against the original's, over every input set.
struct TensorComparison {
  std::string name;  // the output's name, or "<engine op>:<output>" at an engine boundary
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;  // max |got - want| / max |want|
  double cosine = 1.0;         // of the two tensors as vectors, over all input sets
  // Outputs with a class axis (rank >= 2, last dim > 1): the share of rows whose argmax agrees.
  std::optional<double> top1_agreement;
};

// A layer kept in a higher precision on its own, and how close the outputs then come.
struct LayerFinding {
  std::string segment;  // the engine op
  std::string layer;    // the engine's (fused) node
  std::string op;
  PrecisionPin pin;          // the override that keeps it there
  double max_abs_error = 0;  // the outputs' largest error with it pinned
};

struct ComparisonReport {
  std::string precision;  // the engines'
  Device device;
  int input_sets = 0;
  std::vector<TensorComparison> outputs, boundaries;
  double max_abs_error = 0.0;        // the outputs' largest, as converted
  std::vector<LayerFinding> layers;  // the most recovering first
  std::string note;                  // why no layers were tried, when none were

  // The table `kiln compare` prints.
  std::string ToString() const;
};

StatusOr<ComparisonReport> CompareConvertedModel(const std::string& dir, const std::vector<InputSet>& inputs,
                                                 const CompareOptions& options = {});

}  // namespace kiln
