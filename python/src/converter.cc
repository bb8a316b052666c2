// kiln::Converter for Python: parameters from a dict, input functions and progress as Python
// callables (called with the GIL taken back), and the converted-model helpers.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <string>

#include "arrays.h"
#include "bindings.h"
#include "kiln/converter.h"
#include "specs.h"
#include "status.h"

namespace kiln::python {
namespace {

// The C++ parameters from {field: value}, every field one of ConversionParams' (the Python layer
// has checked the types). Precision, calibrator and profile strategy come as kiln's names.
ConversionParams ParamsFromDict(const nb::dict& fields) {
  ConversionParams p;
  for (auto [k, v] : fields) {
    const std::string key = nb::cast<std::string>(k);
    if (key == "precision_mode") {
      p.precision_mode = Unwrap(ParsePrecision(nb::cast<std::string>(v)));
    } else if (key == "allow_tf32") {
      p.allow_tf32 = nb::cast<bool>(v);
    } else if (key == "engine_device") {
      if (!v.is_none()) p.engine_device = Unwrap(ParseDevice(nb::cast<std::string>(v)));
    } else if (key == "max_workspace_size_bytes") {
      p.max_workspace_size_bytes = nb::cast<int64_t>(v);
    } else if (key == "minimum_segment_size") {
      p.minimum_segment_size = nb::cast<int>(v);
    } else if (key == "maximum_cached_engines") {
      p.maximum_cached_engines = nb::cast<int>(v);
    } else if (key == "use_calibration") {
      p.use_calibration = nb::cast<bool>(v);
    } else if (key == "calibrator") {
      p.calibrator = Unwrap(ParseCalibrator(nb::cast<std::string>(v)));
    } else if (key == "smoothing_alpha") {
      if (!v.is_none()) p.smoothing_alpha = nb::cast<float>(v);
    } else if (key == "allow_build_at_runtime") {
      p.allow_build_at_runtime = nb::cast<bool>(v);
    } else if (key == "use_dynamic_shape") {
      p.use_dynamic_shape = nb::cast<bool>(v);
    } else if (key == "profile_strategy") {
      p.profile_strategy = Unwrap(ParseProfileStrategy(nb::cast<std::string>(v)));
    } else if (key == "denylist") {
      p.denylist = nb::cast<std::vector<std::string>>(v);
    } else if (key == "maximum_segments") {
      p.maximum_segments = nb::cast<int>(v);
    } else if (key == "allow_native_fallback") {
      p.allow_native_fallback = nb::cast<bool>(v);
    } else if (key == "keep_precision") {
      p.keep_precision = Unwrap(ParsePrecisionPins(nb::cast<std::vector<std::string>>(v)));
    } else {
      ThrowStatus(InvalidArgument("unknown conversion parameter '" + key + "'"));
    }
  }
  return p;
}

// The first Python exception raised by a callback while kiln ran without the GIL; it is raised
// instead of kiln's own error once the call returns.
struct CallbackError {
  std::optional<nb::python_error> error;

  void Keep(nb::python_error& e) {
    if (!error) error.emplace(std::move(e));
  }
  // Raises the kept exception, else kiln's status when it is an error.
  void Raise(const Status& status) {
    if (error) throw *error;
    Check(status);
  }
};

// Input sets from a Python iterator of {name: array} dicts; each array is copied, since kiln may
// keep a set past the next call. A Python exception ends the sets with an empty one, which fails
// the C++ call (every input is missing) so that the exception is raised in its place. The callbacks
// hold plain handles (kiln may copy them without the GIL): the caller keeps the objects alive.
InputFn InputsFromIterator(nb::handle iterator, CallbackError& errors) {
  return [iterator, &errors]() -> std::optional<InputSet> {
    nb::gil_scoped_acquire gil;
    if (errors.error) return InputSet{};
    try {
      nb::object item = nb::steal(PyIter_Next(iterator.ptr()));
      if (!item.is_valid()) {
        if (PyErr_Occurred()) throw nb::python_error();
        return std::nullopt;
      }
      InputSet set;
      for (auto [key, value] : nb::cast<nb::dict>(item)) {
        const std::string name = nb::cast<std::string>(key);
        set[name] = CopyToHostTensor(value, "input '" + name + "'");
      }
      return set;
    } catch (nb::python_error& e) {
      errors.Keep(e);
      return InputSet{};
    }
  };
}

// Progress reports to `report(stage, done, total)`; its exceptions are reported as unraisable
// and otherwise ignored (a progress bar must not stop a conversion).
ProgressFn ProgressTo(nb::handle report) {
  if (report.is_none()) return {};
  return [report](const std::string& stage, int done, int total) {
    nb::gil_scoped_acquire gil;
    try {
      report(stage, done, total);
    } catch (nb::python_error& e) {
      e.discard_as_unraisable("kiln progress report");
    }
  };
}

class PyConverter {
 public:
  static PyConverter Create(const std::string& path, const nb::dict& params, const std::vector<std::string>& tags,
                            const std::string& signature_key) {
    const ConversionParams p = ParamsFromDict(params);
    LoadOptions load;
    load.tags = tags;
    load.signature_key = signature_key;
    return PyConverter(Unwrap(WithoutGil([&] { return Converter::Create(path, p, load); })));
  }

  void Convert(nb::object calibration, nb::object progress) {
    CallbackError errors;
    InputFn inputs = calibration.is_none() ? InputFn() : InputsFromIterator(calibration, errors);
    converter_->set_progress(ProgressTo(progress));
    const Status s = WithoutGil([&] { return converter_->Convert(inputs); });
    converter_->set_progress({});
    errors.Raise(s);
  }

  void Build(nb::object inputs, nb::object progress) {
    CallbackError errors;
    converter_->set_progress(ProgressTo(progress));
    InputFn fn = InputsFromIterator(inputs, errors);
    const Status s = WithoutGil([&] { return converter_->Build(fn); });
    converter_->set_progress({});
    errors.Raise(s);
  }

  void Save(const std::string& dir, bool save_engines) {
    Check(WithoutGil([&] { return converter_->Save(dir, {.save_engines = save_engines}); }));
  }

  nb::dict Summary() const { return SummaryToDict(converter_->Summary()); }
  nb::dict Signature() const { return SignatureToDict(converter_->signature()); }

 private:
  explicit PyConverter(std::unique_ptr<Converter> c) : converter_(std::move(c)) {}
  std::unique_ptr<Converter> converter_;
};

void BuildEngines(const std::string& dir, nb::object inputs, nb::object progress,
                  const std::optional<std::string>& device) {
  std::optional<Device> on;
  if (device) on = Unwrap(ParseDevice(*device));
  CallbackError errors;
  InputFn fn = InputsFromIterator(inputs, errors);
  ProgressFn report = ProgressTo(progress);
  errors.Raise(WithoutGil([&] { return kiln::BuildEngines(dir, fn, report, on); }));
}

nb::dict SummarizeConvertedModel(const std::string& dir) {
  return SummaryToDict(Unwrap(WithoutGil([&] { return kiln::SummarizeConvertedModel(dir); })));
}

}  // namespace

void BindConverter(nb::module_& m) {
  nb::class_<PyConverter>(m, "Converter")
      .def_static("create", &PyConverter::Create, nb::arg("path"), nb::arg("params"), nb::arg("tags"),
                  nb::arg("signature_key"))
      .def("convert", &PyConverter::Convert, nb::arg("calibration").none(), nb::arg("progress").none())
      .def("build", &PyConverter::Build, nb::arg("inputs"), nb::arg("progress").none())
      .def("save", &PyConverter::Save, nb::arg("dir"), nb::arg("save_engines"))
      .def("summary", &PyConverter::Summary)
      .def("signature", &PyConverter::Signature);
  m.def("build_engines", &BuildEngines, nb::arg("dir"), nb::arg("inputs"), nb::arg("progress").none(),
        nb::arg("device").none());
  m.def("summarize_converted_model", &SummarizeConvertedModel, nb::arg("dir"));
}

}  // namespace kiln::python
