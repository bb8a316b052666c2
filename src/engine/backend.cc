#include "engine/backend.h"

#include "engine/cpu/cpu_backend.h"
#include "engine/cuda/cuda_backend.h"

namespace kiln::engine {

ShapeProfile ShapeProfile::Exact(const std::vector<Shape>& shapes) {
  ShapeProfile p;
  for (const Shape& s : shapes) p.inputs.push_back({s, s, s});
  return p;
}

bool ShapeProfile::Accepts(const std::vector<Shape>& shapes) const {
  if (shapes.size() != inputs.size()) return false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const InputRange& r = inputs[i];
    if (shapes[i].size() != r.min.size() || shapes[i].size() != r.max.size()) return false;
    for (size_t d = 0; d < shapes[i].size(); ++d) {
      if (shapes[i][d] < r.min[d] || shapes[i][d] > r.max[d]) return false;
    }
  }
  return true;
}

std::vector<PartialShape> ShapeProfile::Envelope() const {
  std::vector<PartialShape> out;
  for (const InputRange& r : inputs) {
    PartialShape s = PartialShape::Known(r.min);
    for (size_t d = 0; d < r.min.size(); ++d) {
      if (d >= r.max.size() || r.max[d] != r.min[d]) s.dims[d] = -1;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string ShapeProfile::ToString() const {
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const InputRange& r = inputs[i];
    if (i) out += "; ";
    if (r.min == r.max) {
      out += ShapeToString(r.min);
      continue;
    }
    out += "[";
    for (size_t d = 0; d < r.min.size(); ++d) {
      if (d) out += ",";
      out += std::to_string(r.min[d]);
      if (d < r.max.size() && r.max[d] != r.min[d]) out += ".." + std::to_string(r.max[d]);
    }
    out += "] opt " + ShapeToString(r.opt);
  }
  return out;
}

bool Engine::Accepts(const std::vector<Shape>& shapes) const {
  for (const ShapeProfile& p : profiles()) {
    if (p.Accepts(shapes)) return true;
  }
  return false;
}

const Backend& BackendFor(Device device) { return device.is_cuda() ? CudaBackend(device.index) : CpuBackend(); }

Device DefaultEngineDevice() { return CudaDeviceCount() > 0 ? Device::CUDA(0) : Device::CPU(); }

}  // namespace kiln::engine
