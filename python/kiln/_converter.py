"""The converter: convert → (calibrate) → build → save, as TF-TRT's TrtGraphConverterV2 does."""

from __future__ import annotations

import os
from typing import Optional

from . import _kiln
from ._inputs import InputFn, input_sets
from ._params import ConversionParams, Tags, tag_list
from ._progress import progress_for
from ._reports import ConversionSummary, Signature


class Converter:
    """Converts a TensorFlow SavedModel directory or an ONNX file: every part an engine can run is
    compiled into one (per segment and input shapes), every other part stays native.

    ``progress``: True draws a progress bar during calibration and builds, False never does, None
    (the default) does when output goes to a terminal or a notebook."""

    def __init__(self, model_path: "os.PathLike[str] | str", conversion_params: Optional[ConversionParams] = None,
                 tags: Optional[Tags] = None, signature_key: str = "serving_default",
                 progress: Optional[bool] = None) -> None:
        params = conversion_params if conversion_params is not None else ConversionParams()
        if not isinstance(params, ConversionParams):
            raise TypeError(f"conversion_params must be a kiln.ConversionParams, not {type(params).__name__}")
        self.conversion_params = params
        self._progress = progress
        self._native = _kiln.Converter.create(os.fspath(model_path), params._native(), list(tag_list(tags)),
                                              signature_key)
        #: The signature being converted (the converted model's too).
        self.signature = Signature._from(self._native.signature())

    def _input_names(self):
        return [t.name for t in self.signature.inputs]

    def convert(self, calibration_input_fn: Optional[InputFn] = None) -> None:
        """Cuts the graph into engine segments and native ops. INT8 and FP8 calibrate activation
        ranges on `calibration_input_fn` (a generator function yielding input sets)."""
        calibration = None
        if calibration_input_fn is not None:
            calibration = input_sets(calibration_input_fn, self._input_names(), "calibration_input_fn")
        bar = progress_for(self._progress)
        try:
            self._native.convert(calibration, bar)
        finally:
            if bar is not None:
                bar.close()

    def build(self, input_fn: InputFn) -> None:
        """Builds ahead of time the engines the shapes of `input_fn`'s input sets need."""
        bar = progress_for(self._progress)
        try:
            self._native.build(input_sets(input_fn, self._input_names(), "input_fn"), bar)
        finally:
            if bar is not None:
                bar.close()

    def save(self, output_dir: "os.PathLike[str] | str", save_engines: bool = True) -> None:
        """Writes the converted model (a SavedModel directory that ``kiln.load`` runs). Without
        `save_engines`, engines are built where the model is loaded (``kiln.build_engines``) or at
        first use."""
        self._native.save(os.fspath(output_dir), bool(save_engines))

    def summary(self) -> ConversionSummary:
        """What the conversion did: engine segments, their ops, nodes left native and why."""
        return ConversionSummary._from(self._native.summary())


def build_engines(converted_dir: "os.PathLike[str] | str", input_fn: InputFn, device: Optional[str] = None,
                  progress: Optional[bool] = None) -> None:
    """Builds, for a model kiln converted, the engines the shapes of `input_fn` need on `device`
    (default: the first GPU if any, else the CPU), and writes them into the model (``kiln build``)."""
    path = os.fspath(converted_dir)
    names = [t.name for t in load_signature(path).inputs]
    bar = progress_for(progress)
    try:
        _kiln.build_engines(path, input_sets(input_fn, names, "input_fn"), bar, device)
    finally:
        if bar is not None:
            bar.close()


def summarize(converted_dir: "os.PathLike[str] | str") -> ConversionSummary:
    """The summary of a model kiln converted and saved."""
    return ConversionSummary._from(_kiln.summarize_converted_model(os.fspath(converted_dir)))


def load_signature(path: str, tags: Tags = ("serve",), signature_key: str = "serving_default") -> Signature:
    """A SavedModel's signature, read without loading the model."""
    wanted = set(tag_list(tags))
    for meta_tags, signatures in _kiln.inspect_saved_model(path):
        if set(meta_tags) == wanted:
            for s in signatures:
                if s["key"] == signature_key:
                    return Signature._from(s)
    # Loading reports what is missing, in kiln's words.
    return Signature._from(_kiln.Model.load(path, list(wanted), signature_key, "cpu", False, [], True).signature())
