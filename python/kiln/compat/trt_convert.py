"""TF-TRT's converter API on kiln: existing TF-TRT code runs with one import changed,

    from kiln.compat import trt_convert as trt     # was: from tensorflow.python.compiler.tensorrt ...

and the converted model loaded with ``kiln.load`` (TensorFlow cannot run kiln's engine op). Names,
signatures and defaults are TF-TRT's; arguments kiln has no use for are accepted and ignored with
one warning each; arguments it cannot honour are refused with an error that says why.
"""

from __future__ import annotations

import collections
import os
import warnings
from typing import Any, Callable, Iterable, Optional, Sequence

from .. import _params
from .._converter import Converter
from .._errors import InvalidArgumentError
from .._reports import ConversionSummary

DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES = 1 << 30


class TrtPrecisionMode(object):
    FP32 = "FP32"
    FP16 = "FP16"
    INT8 = "INT8"
    # kiln's additions.
    BF16 = "BF16"
    FP8 = "FP8"

    @staticmethod
    def supported_precision_modes() -> list:
        modes = [TrtPrecisionMode.FP32, TrtPrecisionMode.FP16, TrtPrecisionMode.INT8, TrtPrecisionMode.BF16,
                 TrtPrecisionMode.FP8]
        return modes + [m.lower() for m in modes]


_warned = set()


def _ignored(what: str, why: str) -> None:
    """Warns once per process that `what` is accepted and ignored."""
    if what not in _warned:
        _warned.add(what)
        warnings.warn(f"kiln ignores {what}: {why}", stacklevel=3)


# The fields of TF-TRT before 2.4, which it dropped; kept for old code, ignored.
_LEGACY_FIELDS = {
    "rewriter_config_template": "kiln has no Grappler rewriter config",
    "is_dynamic_op": "kiln always builds engines for the shapes it sees (allow_build_at_runtime)",
    "max_batch_size": "kiln's engines take the batch sizes they were built for, with no implicit batch mode",
}


class TrtConversionParams(collections.namedtuple("TrtConversionParams", [
        "max_workspace_size_bytes", "precision_mode", "minimum_segment_size", "maximum_cached_engines",
        "use_calibration", "allow_build_at_runtime"])):
    """TF-TRT's conversion parameters (a named tuple: ``_replace`` makes a changed copy)."""

    def __new__(cls, max_workspace_size_bytes: int = DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES,
                precision_mode: str = TrtPrecisionMode.FP32, minimum_segment_size: int = 3,
                maximum_cached_engines: int = 1, use_calibration: bool = True, allow_build_at_runtime: bool = True,
                **legacy: Any) -> "TrtConversionParams":
        _check_legacy(legacy)
        return super().__new__(cls, max_workspace_size_bytes, precision_mode, minimum_segment_size,
                               maximum_cached_engines, use_calibration, allow_build_at_runtime)

    def _replace(self, **changes: Any) -> "TrtConversionParams":
        _check_legacy({k: changes.pop(k) for k in list(changes) if k in _LEGACY_FIELDS})
        return super()._replace(**changes)


def _check_legacy(fields: dict) -> None:
    for name in fields:
        if name not in _LEGACY_FIELDS:
            raise TypeError(f"TrtConversionParams has no field {name!r}")
        _ignored(f"TrtConversionParams.{name}", _LEGACY_FIELDS[name])


DEFAULT_TRT_CONVERSION_PARAMS = TrtConversionParams()

# TF-TRT's dynamic-shape profile strategies, by kiln's name.
_PROFILE_STRATEGIES = {"range": "range", "optimal": "optimal", "range+optimal": "range+optimal"}


class TrtGraphConverterV2(object):
    """TF-TRT's converter for TensorFlow 2 SavedModels (ONNX files work too), on kiln."""

    def __init__(self, input_saved_model_dir: Optional[str] = None,
                 input_saved_model_tags: Optional[Sequence[str]] = None,
                 input_saved_model_signature_key: Optional[str] = None, use_dynamic_shape: Optional[bool] = None,
                 dynamic_shape_profile_strategy: Optional[str] = None,
                 max_workspace_size_bytes: int = DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES,
                 precision_mode: str = TrtPrecisionMode.FP32, minimum_segment_size: int = 3,
                 maximum_cached_engines: int = 1, use_calibration: bool = True, allow_build_at_runtime: bool = True,
                 conversion_params: Optional[TrtConversionParams] = None) -> None:
        if input_saved_model_dir is None:
            raise InvalidArgumentError("input_saved_model_dir is required (a SavedModel directory or an .onnx file)")
        if conversion_params is None:
            conversion_params = TrtConversionParams(max_workspace_size_bytes, precision_mode, minimum_segment_size,
                                                    maximum_cached_engines, use_calibration, allow_build_at_runtime)
        strategy = "range"
        if dynamic_shape_profile_strategy is not None:
            strategy = _PROFILE_STRATEGIES.get(str(dynamic_shape_profile_strategy).lower())
            if strategy is None:
                raise InvalidArgumentError(
                    f"dynamic_shape_profile_strategy {dynamic_shape_profile_strategy!r} is not supported by kiln; "
                    "use 'Range', 'Optimal' or 'Range+Optimal' (kiln has no implicit batch mode)")
        params = _params.ConversionParams(
            precision_mode=_params.PrecisionMode.parse(conversion_params.precision_mode),
            max_workspace_size_bytes=conversion_params.max_workspace_size_bytes,
            minimum_segment_size=conversion_params.minimum_segment_size,
            maximum_cached_engines=conversion_params.maximum_cached_engines,
            use_calibration=conversion_params.use_calibration,
            allow_build_at_runtime=conversion_params.allow_build_at_runtime,
            use_dynamic_shape=bool(use_dynamic_shape), profile_strategy=strategy)
        self._need_calibration = params.precision_mode in (_params.PrecisionMode.INT8, _params.PrecisionMode.FP8) \
            and params.use_calibration
        self._converter = Converter(os.fspath(input_saved_model_dir), params,
                                    tags=input_saved_model_tags or ("serve",),
                                    signature_key=input_saved_model_signature_key or "serving_default")
        self._converted = False

    def convert(self, calibration_input_fn: Optional[Callable[[], Iterable[Any]]] = None) -> None:
        """Partitions and converts the model; INT8 calibrates on `calibration_input_fn`. Returns None:
        run the converted model with ``kiln.load`` after ``save``."""
        if self._converted:
            raise InvalidArgumentError("convert() can only be called once")
        if self._need_calibration and calibration_input_fn is None:
            raise InvalidArgumentError("INT8 calibration needs calibration_input_fn (or use_calibration=False)")
        if not self._need_calibration and calibration_input_fn is not None:
            raise InvalidArgumentError("calibration_input_fn is only used for INT8 (and FP8) with use_calibration=True")
        self._converter.convert(calibration_input_fn)
        self._converted = True

    def build(self, input_fn: Callable[[], Iterable[Any]]) -> None:
        """Builds the engines the input shapes of `input_fn` need, ahead of time."""
        if not self._converted:
            raise InvalidArgumentError("build() needs convert() first")
        if input_fn is None:
            raise InvalidArgumentError("build() needs input_fn")
        self._converter.build(input_fn)

    def save(self, output_saved_model_dir: str, save_gpu_specific_engines: bool = True,
             options: Any = None) -> None:
        """Saves the converted model; ``kiln.load(output_saved_model_dir)`` runs it."""
        if not self._converted:
            raise InvalidArgumentError("save() needs convert() first")
        if options is not None:
            _ignored("save(options=...)", "kiln writes its own SavedModel; TensorFlow's SaveOptions do not apply")
        self._converter.save(output_saved_model_dir, save_engines=save_gpu_specific_engines)

    def summary(self, line_length: int = 160, detailed: bool = True) -> None:
        """Prints what the conversion did (kiln's summary report)."""
        if not self._converted:
            raise InvalidArgumentError("summary() needs convert() first")
        if line_length != 160:
            _ignored("summary(line_length=...)", "kiln's report has its own layout")
        report: ConversionSummary = self._converter.summary()
        text = str(report)
        if not detailed:
            text = text.split("\n\n")[0]
        print(text)
