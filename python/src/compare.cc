// kiln::CompareConvertedModel for Python: input sets from a Python iterator, the report as a dict.
#include <nanobind/stl/string.h>

#include "arrays.h"
#include "bindings.h"
#include "kiln/compare.h"
#include "status.h"

namespace kiln::python {
namespace {

nb::dict ComparisonToDict(const TensorComparison& c) {
  nb::dict d;
  d["name"] = c.name;
  d["max_abs_error"] = c.max_abs_error;
  d["max_rel_error"] = c.max_rel_error;
  d["cosine"] = c.cosine;
  d["top1_agreement"] = c.top1_agreement ? nb::cast(*c.top1_agreement) : nb::none();
  return d;
}

nb::dict Compare(const std::string& dir, nb::handle input_sets, const std::string& device, bool find_layers,
                 int max_layers) {
  CompareOptions options;
  options.device = Unwrap(ParseDevice(device));
  options.find_layers = find_layers;
  options.max_layers = max_layers;
  std::vector<InputSet> inputs;
  for (nb::handle item : input_sets) {
    InputSet set;
    for (auto [key, value] : nb::cast<nb::dict>(item)) {
      const std::string name = nb::cast<std::string>(key);
      set[name] = CopyToHostTensor(value, "input '" + name + "'");
    }
    inputs.push_back(std::move(set));
  }
  const ComparisonReport r = Unwrap(WithoutGil([&] { return CompareConvertedModel(dir, inputs, options); }));
  nb::dict d;
  d["precision"] = r.precision;
  d["device"] = r.device.ToString();
  d["input_sets"] = r.input_sets;
  nb::list outputs, boundaries, layers;
  for (const TensorComparison& c : r.outputs) outputs.append(ComparisonToDict(c));
  for (const TensorComparison& c : r.boundaries) boundaries.append(ComparisonToDict(c));
  for (const LayerFinding& f : r.layers) {
    layers.append(nb::make_tuple(f.segment, f.layer, f.op, PrecisionPinToString(f.pin), f.max_abs_error));
  }
  d["outputs"] = outputs;
  d["boundaries"] = boundaries;
  d["layers"] = layers;
  d["max_abs_error"] = r.max_abs_error;
  d["note"] = r.note;
  d["text"] = r.ToString();
  return d;
}

}  // namespace

void BindCompare(nb::module_& m) {
  m.def("compare", &Compare, nb::arg("dir"), nb::arg("input_sets"), nb::arg("device"), nb::arg("find_layers"),
        nb::arg("max_layers"));
}

}  // namespace kiln::python
