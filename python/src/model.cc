// kiln::Model for Python: load, describe, run (inputs read in place, the GIL released) and the
// counters of a converted model's engines.
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "specs.h"
#include "status.h"

namespace kiln::python {
namespace {

class PyModel {
 public:
  static PyModel Load(const std::string& path, const std::vector<std::string>& tags, const std::string& signature_key,
                      const std::string& device, bool allow_tf32, const std::vector<std::string>& keep_precision,
                      bool use_engines) {
    LoadOptions options;
    options.tags = tags;
    options.signature_key = signature_key;
    options.device = Unwrap(ParseDevice(device));
    options.allow_tf32 = allow_tf32;
    options.keep_precision = Unwrap(ParsePrecisionPins(keep_precision));
    options.use_engines = use_engines;
    return PyModel(Unwrap(WithoutGil([&] { return Model::Load(path, options); })));
  }

  nb::dict Signature() const { return SignatureToDict(model_->signature()); }
  std::string DeviceName() const { return model_->device().ToString(); }
  std::map<std::string, int> OpCounts() const { return model_->OpCounts(); }

  nb::list HostNodes() const {
    nb::list out;
    for (const HostNode& n : model_->host_nodes()) out.append(nb::make_tuple(n.name, n.op, n.reason));
    return out;
  }

  nb::list EngineStats() const {
    nb::list out;
    for (const EngineOpStats& s : model_->engine_stats()) out.append(EngineStatsToDict(s));
    return out;
  }

  // Runs with `inputs` (name -> array, read in place); outputs by name, as DLPack arrays left on the
  // model's device when `dlpack`, else as NumPy arrays. `stream` is a cudaStream_t, or 0.
  nb::dict Run(nb::dict inputs, bool dlpack, uintptr_t stream) const {
    std::map<std::string, Tensor> tensors;
    std::map<const Buffer*, nb::handle> borrowed;  // input memory -> the array it belongs to
    for (auto [key, value] : inputs) {
      const std::string name = nb::cast<std::string>(key);
      Tensor t = BorrowTensor(value, "input '" + name + "'");
      if (t.buffer()) borrowed[t.buffer().get()] = value;
      tensors.emplace(name, std::move(t));
    }
    RunOptions options;
    options.outputs_on_device = dlpack;
    options.stream = reinterpret_cast<CudaStream>(stream);
    const std::map<std::string, Tensor> outputs = Unwrap(WithoutGil([&] { return model_->Run(tensors, options); }));
    nb::dict result;
    for (const auto& [name, t] : outputs) {
      // An output that is an input passed through keeps that input's array alive.
      auto aliased = t.buffer() ? borrowed.find(t.buffer().get()) : borrowed.end();
      result[name.c_str()] = ArrayFromTensor(t, dlpack, aliased != borrowed.end() ? aliased->second : nb::handle());
    }
    return result;
  }

 private:
  explicit PyModel(std::unique_ptr<Model> model) : model_(std::move(model)) {}
  std::unique_ptr<Model> model_;
};

// The MetaGraphs of a SavedModel directory: (tags, [signature]) each, without loading variables.
nb::list InspectSavedModel(const std::string& dir) {
  nb::list out;
  for (const MetaGraphInfo& info : Unwrap(WithoutGil([&] { return kiln::InspectSavedModel(dir); }))) {
    nb::list signatures;
    for (const SignatureInfo& s : info.signatures) signatures.append(SignatureToDict(s));
    out.append(nb::make_tuple(info.tags, signatures));
  }
  return out;
}

}  // namespace

void BindModel(nb::module_& m) {
  m.def("inspect_saved_model", &InspectSavedModel, nb::arg("dir"));
  nb::class_<PyModel>(m, "Model")
      .def_static("load", &PyModel::Load, nb::arg("path"), nb::arg("tags"), nb::arg("signature_key"),
                  nb::arg("device"), nb::arg("allow_tf32"), nb::arg("keep_precision"), nb::arg("use_engines"))
      .def("signature", &PyModel::Signature)
      .def("device", &PyModel::DeviceName)
      .def("op_counts", &PyModel::OpCounts)
      .def("host_nodes", &PyModel::HostNodes)
      .def("engine_stats", &PyModel::EngineStats)
      .def("run", &PyModel::Run, nb::arg("inputs"), nb::arg("dlpack"), nb::arg("stream"));
}

}  // namespace kiln::python
