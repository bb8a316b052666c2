#pragma once
// kiln's descriptive structs as plain Python values (dicts, lists, tuples) that the Python layer
// turns into its dataclasses.

#include <nanobind/nanobind.h>

#include "kiln/converter.h"
#include "kiln/model.h"

namespace kiln::python {

namespace nb = nanobind;

nb::dict SignatureToDict(const SignatureInfo& s);
nb::dict EngineStatsToDict(const EngineOpStats& s);
nb::dict SummaryToDict(const ConversionSummary& s);

}  // namespace kiln::python
