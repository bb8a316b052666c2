#include "specs.h"

#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

namespace kiln::python {
namespace {

// Unknown dims (and an unknown rank) as None.
nb::object ShapeToPython(const PartialShape& shape) {
  if (!shape.rank_known) return nb::none();
  nb::list dims;
  for (int64_t d : shape.dims) {
    if (d < 0) {
      dims.append(nb::none());
    } else {
      dims.append(nb::int_(d));
    }
  }
  return nb::tuple(dims);
}

nb::dict SpecToDict(const TensorSpec& t) {
  nb::dict d;
  d["name"] = t.name;
  d["dtype"] = std::string(DTypeName(t.dtype));
  d["shape"] = ShapeToPython(t.shape);
  d["tensor_name"] = t.tensor_name;
  d["dim_names"] = t.dim_names;
  return d;
}

nb::list SpecsToList(const std::vector<TensorSpec>& specs) {
  nb::list out;
  for (const TensorSpec& t : specs) out.append(SpecToDict(t));
  return out;
}

}  // namespace

nb::dict SignatureToDict(const SignatureInfo& s) {
  nb::dict d;
  d["key"] = s.key;
  d["method_name"] = s.method_name;
  d["inputs"] = SpecsToList(s.inputs);
  d["outputs"] = SpecsToList(s.outputs);
  return d;
}

nb::dict EngineStatsToDict(const EngineOpStats& s) {
  nb::dict d;
  d["name"] = s.name;
  d["engine_runs"] = s.engine_runs;
  d["native_runs"] = s.native_runs;
  d["engines_built"] = s.engines_built;
  d["engines_loaded"] = s.engines_loaded;
  d["engines_evicted"] = s.engines_evicted;
  d["cached_engines"] = s.cached_engines;
  d["warnings"] = s.warnings;
  return d;
}

nb::dict SummaryToDict(const ConversionSummary& s) {
  nb::dict d;
  d["precision"] = s.precision;
  nb::list engines;
  for (const EngineSummary& e : s.engines) {
    nb::dict ed;
    ed["name"] = e.name;
    ed["num_nodes"] = e.num_nodes;
    ed["inputs"] = SpecsToList(e.inputs);
    ed["outputs"] = SpecsToList(e.outputs);
    ed["op_counts"] = e.op_counts;
    ed["engines"] = e.engines;
    ed["engine_op_counts"] = e.engine_op_counts;
    engines.append(ed);
  }
  d["engines"] = engines;
  d["converted_op_counts"] = s.converted_op_counts;
  d["total_ops"] = s.total_ops;
  d["converted_ops"] = s.converted_ops;
  nb::list native;
  for (const auto& n : s.native_nodes) native.append(nb::make_tuple(n.name, n.op, n.reason));
  d["native_nodes"] = native;
  d["notes"] = s.notes;
  d["text"] = s.ToString();
  return d;
}

}  // namespace kiln::python
