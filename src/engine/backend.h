#pragma once
// The backend interface: which ops a backend claims, how it compiles a segment into an engine for
// shape profiles and a precision, how an engine runs, and how it is serialized. CPU and CUDA are
// the backends; the converter and the EngineOp see only this interface.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "calibrate/table.h"
#include "ir/graph.h"
#include "kiln/converter.h"
#include "kiln/status.h"
#include "kiln/tensor.h"
#include "runtime/device_context.h"

namespace kiln::engine {

// The shapes one segment input may take under a profile: every dim within [min, max]; `opt` is
// the shape the engine is tuned for.
struct InputRange {
  Shape min, opt, max;
};

// One range per segment input. A static engine has a profile with min == opt == max.
struct ShapeProfile {
  std::vector<InputRange> inputs;

  static ShapeProfile Exact(const std::vector<Shape>& shapes);
  bool Accepts(const std::vector<Shape>& shapes) const;
  // The declared input shapes, made concrete where every shape in the profile agrees.
  std::vector<PartialShape> Envelope() const;
  // "[1,28,28,1]" for exact profiles, "[1..8,28,28,1] opt [8,28,28,1]" otherwise; inputs joined by "; ".
  std::string ToString() const;
};

// What one device is: recorded in every engine header and checked when an engine is loaded.
struct DeviceInfo {
  std::string backend;             // "cpu", "cuda"
  std::string name;                // "x86_64 CPU", "NVIDIA H100 80GB HBM3"
  std::string compute_capability;  // "" on the CPU, "9.0"
  std::map<std::string, std::string> library_versions;
};

struct BuildConfig {
  Precision precision = Precision::kFP32;
  int64_t max_workspace_size_bytes = int64_t{1} << 30;
  std::vector<ShapeProfile> profiles;  // the engine must accept every shape any of them accepts
  // Calibrated |x| ranges of the segment's tensors ("node:index", segment inputs by their
  // Placeholder names), for INT8/FP8.
  std::map<std::string, float> amax;
  // INT8: how the activations of matrix products are smoothed, by tensor name (passes/smoothing.h).
  std::map<std::string, calibrate::ChannelSmoothing> smoothing;
  bool explicit_quantization = false;  // the segment carries its own Q/DQ or FakeQuant ops
  bool allow_tf32 = false;             // FP32 products and convolutions on a GPU may use TF32
  std::vector<PrecisionPin> keep_precision;  // layers kept in a higher precision than `precision`
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const std::vector<ShapeProfile>& profiles() const = 0;
  bool Accepts(const std::vector<Shape>& shapes) const;
  // Runs on one tensor per segment input. On the host `device` is null; in a run on a device it is
  // the run's context, whose stream orders the engine's work, and the outputs stay on the device.
  // Inputs may come from either side; the engine moves what it must.
  virtual StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs,
                                            runtime::DeviceContext* device) const = 0;
  // The backend-specific body of the engine file (the header is written by engine_file.h).
  virtual StatusOr<std::string> SerializePayload() const = 0;
  // Op type -> count of what the engine executes (after fusion), for summaries and tests.
  virtual std::map<std::string, int> OpCounts() const = 0;
  // What the build decided that a user should know (layers left at a higher precision, ...).
  virtual std::vector<std::string> BuildNotes() const { return {}; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceInfo device() const = 0;
  // OK when the backend's converter can convert `node` (shapes inferred); else why not. The
  // partitioner asks this, so "supported" and "convertible" are the same check.
  virtual Status Validate(const ir::Graph& graph, const ir::Node& node) const = 0;
  // Compiles `segment` (Placeholders for its inputs, graph outputs for its outputs).
  virtual StatusOr<std::unique_ptr<Engine>> Build(const ir::Graph& segment, const BuildConfig& config) const = 0;
  // Reads back a payload written by Engine::SerializePayload on a compatible device.
  virtual StatusOr<std::unique_ptr<Engine>> Deserialize(const std::vector<ShapeProfile>& profiles,
                                                        std::string_view payload) const = 0;
};

// The backend whose engines run on `device`: the CPU backend, or the CUDA backend of GPU N.
const Backend& BackendFor(Device device);
// Where engines are built when the user does not say: the first GPU when there is one, else the host.
Device DefaultEngineDevice();

}  // namespace kiln::engine
