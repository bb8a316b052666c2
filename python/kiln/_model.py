"""Loading and running models: SavedModels, ONNX files and models converted by kiln."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from . import _kiln
from ._arrays import from_native, inputs_to_native, stream_handle
from ._errors import InvalidArgumentError
from ._params import Tags, tag_list
from ._reports import EngineStats, EngineStatsList, HostNode, Signature

_OUTPUTS = ("numpy", "dlpack")


class SignatureFunction:
    """A model's signature as a callable, as ``tf.saved_model.load(...).signatures[key]`` is:
    ``fn(input_1=images)`` or ``fn(images)`` (positional arguments in the signature's input order)
    returns a dict of NumPy arrays by output name."""

    def __init__(self, model: "Model") -> None:
        self._model = model

    @property
    def inputs(self):
        return self._model.signature.inputs

    @property
    def outputs(self):
        return self._model.signature.outputs

    def __call__(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        names = [t.name for t in self._model.signature.inputs]
        if len(args) > len(names):
            raise InvalidArgumentError(f"{len(args)} positional input(s) given; the signature has {len(names)}: "
                                       f"{', '.join(map(repr, names))}")
        inputs = dict(zip(names, args))
        for name, value in kwargs.items():
            if name in inputs:
                raise InvalidArgumentError(f"input {name!r} given both by position and by name")
            inputs[name] = value
        return self._model.run(inputs)

    def __repr__(self) -> str:
        return f"<kiln signature {self._model.signature}>"


class _Signatures(Mapping[str, SignatureFunction]):
    def __init__(self, model: "Model") -> None:
        self._functions = {model.signature.key: SignatureFunction(model)}

    def __getitem__(self, key: str) -> SignatureFunction:
        try:
            return self._functions[key]
        except KeyError:
            raise KeyError(f"{key!r}: the model was loaded with signature {next(iter(self._functions))!r} "
                           "(kiln.load(..., signature_key=...) loads another)") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._functions)

    def __len__(self) -> int:
        return len(self._functions)


class Model:
    """One signature of a model, frozen and ready to run on the CPU or a GPU. Several threads may
    run one model at once (calls release the GIL)."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self.signature = Signature._from(native.signature())
        #: The signature as a callable, by key (TensorFlow's ``loaded.signatures``).
        self.signatures: Mapping[str, SignatureFunction] = _Signatures(self)

    @property
    def device(self) -> str:
        """Where the model runs: "cpu" or "cuda:N"."""
        return self._native.device()

    def run(self, inputs: Mapping[str, Any], output: str = "numpy", stream: Any = None) -> Dict[str, Any]:
        """Runs the signature on `inputs` (by name: NumPy arrays, DLPack tensors such as PyTorch's or
        CuPy's, anything with ``__array__``). Returns the outputs by name: NumPy arrays, or with
        ``output="dlpack"`` arrays left on the model's device that ``torch.from_dlpack`` and the like
        take without a copy. `stream` (a cudaStream_t handle, or a PyTorch/CuPy stream) orders the
        run on that stream; device inputs must then be ready on it."""
        if output not in _OUTPUTS:
            raise InvalidArgumentError(f"output={output!r} is not one of {', '.join(map(repr, _OUTPUTS))}")
        if not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a dict of arrays by input name, not {type(inputs).__name__}")
        handle = stream_handle(stream)
        native = inputs_to_native(inputs, handle)
        outputs = self._native.run(native, output == "dlpack", handle or 0)
        return {name: from_native(value) for name, value in outputs.items()}

    def engine_stats(self) -> EngineStatsList:
        """How each engine segment has run (engine or native, engines built, loaded, evicted); empty
        for a model kiln did not convert."""
        return EngineStatsList(EngineStats._from(d) for d in self._native.engine_stats())

    def host_nodes(self) -> List[HostNode]:
        """On a GPU: the nodes that run on the host instead, and why."""
        return [HostNode(*n) for n in self._native.host_nodes()]

    def op_counts(self) -> Dict[str, int]:
        """Op type -> count in the frozen, optimized graph."""
        return dict(self._native.op_counts())

    def __repr__(self) -> str:
        return f"<kiln.Model {self.signature} on {self.device}>"


def load(path: "os.PathLike[str] | str", tags: Optional[Tags] = None, signature_key: str = "serving_default",
         device: str = "cpu", allow_tf32: bool = False, keep_precision: Sequence[str] = (),
         use_engines: bool = True) -> Model:
    """Loads one signature of a SavedModel directory (converted by kiln or not) or an ONNX file.

    `tags` picks the MetaGraph (default ``("serve",)``), `signature_key` the signature; `device` is
    "cpu", "cuda" or "cuda:N"; `allow_tf32` lets FP32 products on a GPU use TF32. For a converted
    model, `keep_precision` pins layers above its engines' precision ("fp16:LAYER", as
    ``kiln.compare`` prints them; engines are then built at first use), and ``use_engines=False``
    runs every segment's original ops instead."""
    if not isinstance(device, str):
        raise TypeError(f"device must be 'cpu', 'cuda' or 'cuda:N', not {type(device).__name__}")
    pins = [keep_precision] if isinstance(keep_precision, str) else list(keep_precision)
    return Model(_kiln.Model.load(os.fspath(path), list(tag_list(tags)), signature_key, device, bool(allow_tf32),
                                  pins, bool(use_engines)))
