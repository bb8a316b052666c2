"""kiln.compare: where a converted model's accuracy goes (``kiln compare``)."""

from __future__ import annotations

import dataclasses
import html
import os
from typing import Any, Dict, Optional, Tuple

from . import _kiln
from ._converter import load_signature
from ._inputs import InputFn, input_sets
from ._reports import _table


@dataclasses.dataclass(frozen=True)
class TensorComparison:
    """One output (or engine boundary, "<engine op>:<index>") of the converted model against the
    original's, over every input set."""

    name: str
    max_abs_error: float
    max_rel_error: float
    cosine: float
    top1_agreement: Optional[float]


@dataclasses.dataclass(frozen=True)
class LayerFinding:
    """A layer kept in a higher precision on its own (``pin``), and the outputs' largest error then."""

    segment: str
    layer: str
    op: str
    pin: str
    max_abs_error: float


@dataclasses.dataclass(frozen=True)
class ComparisonReport:
    """``str(report)`` is the table ``kiln compare`` prints; ``layers[0].pin`` the override that
    recovers the most."""

    precision: str
    device: str
    input_sets: int
    outputs: Tuple[TensorComparison, ...]
    boundaries: Tuple[TensorComparison, ...]
    max_abs_error: float
    layers: Tuple[LayerFinding, ...]
    note: str
    text: str = dataclasses.field(repr=False, default="")

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "ComparisonReport":
        def tensors(key):
            return tuple(TensorComparison(**t) for t in d[key])

        return cls(d["precision"], d["device"], d["input_sets"], tensors("outputs"), tensors("boundaries"),
                   d["max_abs_error"], tuple(LayerFinding(*f) for f in d["layers"]), d["note"], d["text"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        def rows(items):
            return [[t.name, f"{t.max_abs_error:.3g}", f"{t.max_rel_error:.3g}", f"{t.cosine:.6f}",
                     "" if t.top1_agreement is None else f"{100 * t.top1_agreement:.1f}%"] for t in items]

        headers = ["tensor", "max abs", "max rel", "cosine", "top-1"]
        title = (f"<p><b>{html.escape(self.precision)} engines on {html.escape(self.device)}</b> against the "
                 f"original ops in fp32, {self.input_sets} input set(s)</p>")
        parts = [title, _table(headers, rows(self.outputs + self.boundaries))]
        if self.layers:
            parts.append(_table(["layer", "op", "segment", "max abs error when kept", "pin"],
                                [[f.layer, f.op, f.segment, f"{f.max_abs_error:.3g}", f.pin] for f in self.layers]))
        if self.note:
            parts.append(f"<p>{html.escape(self.note)}</p>")
        return "".join(parts)


def compare(converted_dir: "os.PathLike[str] | str", input_fn: InputFn, device: str = "cpu",
            find_layers: bool = True, max_layers: int = 64) -> ComparisonReport:
    """Runs a converted model and its original ops in fp32 on `input_fn`'s input sets and compares
    them per output and at every engine boundary; with `find_layers`, re-runs with each engine
    layer kept in a higher precision, one at a time, to name the layers that lose the most."""
    path = os.fspath(converted_dir)
    names = [t.name for t in load_signature(path).inputs]
    sets = list(input_sets(input_fn, names, "input_fn"))
    return ComparisonReport._from(_kiln.compare(path, sets, device, bool(find_layers), int(max_layers)))
