"""What kiln reports, as Python objects: signatures, the conversion summary and the engines'
counters, each with a readable ``str`` and an HTML table for notebooks."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Dict, List, Optional, Sequence, Tuple


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths)] + lines[1:])


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """A signature input or output: its name, dtype (NumPy's name) and shape (None: unknown)."""

    name: str
    dtype: str
    shape: Optional[Tuple[Optional[int], ...]]
    tensor_name: str = ""
    dim_names: Tuple[str, ...] = ()

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "TensorSpec":
        return cls(d["name"], d["dtype"], d["shape"], d["tensor_name"], tuple(d["dim_names"]))

    def __str__(self) -> str:
        shape = "<unknown rank>" if self.shape is None else "[" + ",".join("?" if d is None else str(d)
                                                                            for d in self.shape) + "]"
        return f"{self.name}: {self.dtype}{shape}"


@dataclasses.dataclass(frozen=True)
class Signature:
    """The signature a model runs: its key and its inputs and outputs."""

    key: str
    method_name: str
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Signature":
        return cls(d["key"], d["method_name"], tuple(TensorSpec._from(t) for t in d["inputs"]),
                   tuple(TensorSpec._from(t) for t in d["outputs"]))

    def __str__(self) -> str:
        ins = ", ".join(str(t) for t in self.inputs)
        outs = ", ".join(str(t) for t in self.outputs)
        return f"{self.key}({ins}) -> ({outs})"


@dataclasses.dataclass(frozen=True)
class EngineSummary:
    """One engine segment of a converted model."""

    name: str
    num_nodes: int
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]
    op_counts: Dict[str, int]
    engines: Tuple[str, ...]
    engine_op_counts: Dict[str, int]


@dataclasses.dataclass(frozen=True)
class NativeNode:
    """A node left to the native runtime, and why."""

    name: str
    op: str
    reason: str


@dataclasses.dataclass(frozen=True)
class ConversionSummary:
    """What a conversion did: the engine segments, the ops they took, the nodes left native and why.
    ``str(summary)`` is the report ``kiln summary`` prints."""

    precision: str
    engines: Tuple[EngineSummary, ...]
    converted_op_counts: Dict[str, int]
    total_ops: int
    converted_ops: int
    native_nodes: Tuple[NativeNode, ...]
    notes: Tuple[str, ...]
    text: str = dataclasses.field(repr=False, default="")

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "ConversionSummary":
        engines = tuple(
            EngineSummary(e["name"], e["num_nodes"], tuple(TensorSpec._from(t) for t in e["inputs"]),
                          tuple(TensorSpec._from(t) for t in e["outputs"]), dict(e["op_counts"]),
                          tuple(e["engines"]), dict(e["engine_op_counts"]))
            for e in d["engines"])
        return cls(d["precision"], engines, dict(d["converted_op_counts"]), d["total_ops"], d["converted_ops"],
                   tuple(NativeNode(*n) for n in d["native_nodes"]), tuple(d["notes"]), d["text"])

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        share = f"{self.converted_ops} of {self.total_ops} ops in {len(self.engines)} engine segment(s)"
        parts = [f"<p><b>kiln conversion, {html.escape(self.precision)}</b>: {html.escape(share)}</p>",
                 _table(["segment", "ops", "inputs", "outputs", "engines built"],
                        [[e.name, e.num_nodes, ", ".join(map(str, e.inputs)), ", ".join(map(str, e.outputs)),
                          "; ".join(e.engines) or "none yet"] for e in self.engines])]
        if self.native_nodes:
            parts.append("<p>Left native:</p>")
            parts.append(_table(["node", "op", "why"], [[n.name, n.op, n.reason] for n in self.native_nodes]))
        parts.extend(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return "".join(parts)


@dataclasses.dataclass(frozen=True)
class EngineStats:
    """How one engine segment of a converted model has run so far."""

    name: str
    engine_runs: int
    native_runs: int
    engines_built: int
    engines_loaded: int
    engines_evicted: int
    cached_engines: int
    warnings: Tuple[str, ...]

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "EngineStats":
        return cls(d["name"], d["engine_runs"], d["native_runs"], d["engines_built"], d["engines_loaded"],
                   d["engines_evicted"], d["cached_engines"], tuple(d["warnings"]))


_STATS_HEADERS = ["segment", "engine runs", "native runs", "built", "loaded", "evicted", "cached"]


class EngineStatsList(List[EngineStats]):
    """The counters of every engine segment, as a list with a table for ``str`` and notebooks."""

    def _rows(self) -> List[List[Any]]:
        return [[s.name, s.engine_runs, s.native_runs, s.engines_built, s.engines_loaded, s.engines_evicted,
                 s.cached_engines] for s in self]

    def __str__(self) -> str:
        if not self:
            return "no engine segments (not a model converted by kiln)"
        text = _text_table(_STATS_HEADERS, self._rows())
        warnings = [f"{s.name}: {w}" for s in self for w in s.warnings]
        return text + ("\nwarnings:\n  " + "\n  ".join(warnings) if warnings else "")

    def _repr_html_(self) -> str:
        warnings = "".join(f"<p>{html.escape(s.name)}: {html.escape(w)}</p>" for s in self for w in s.warnings)
        return _table(_STATS_HEADERS, self._rows()) + warnings


@dataclasses.dataclass(frozen=True)
class HostNode:
    """A node of a model loaded on a GPU that runs on the host, and why."""

    name: str
    op: str
    reason: str
