"""Arrays into and out of the extension module.

In: NumPy arrays, anything with ``__dlpack__`` (PyTorch, CuPy, JAX...) or ``__array__``
(TensorFlow...), Python scalars and lists. Host arrays are read in place when C-contiguous (copied
once otherwise); CUDA arrays are read in place. Out: NumPy arrays, or DLPack-capable arrays that
``torch.from_dlpack`` / ``cupy.from_dlpack`` / ``jax.dlpack.from_dlpack`` take without a copy.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Set, Tuple

import numpy as np

from . import _kiln

# DLPack device types.
_DL_CUDA = 2


def _strings(array: np.ndarray) -> Tuple[str, list, Tuple[int, ...]]:
    values = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.reshape(-1).tolist()]
    return ("strings", values, tuple(array.shape))


def _cuda_device(value: Any) -> Optional[int]:
    """The CUDA device a DLPack array lives on, or None for host memory."""
    if not hasattr(value, "__dlpack_device__"):
        return None
    device_type, device_id = value.__dlpack_device__()
    return int(device_id) if int(device_type) == _DL_CUDA else None


def to_native(value: Any, stream: Optional[int] = None) -> Any:
    """An input value as the extension module takes it (see module docstring)."""
    if isinstance(value, np.ndarray):
        array = value
    elif hasattr(value, "__dlpack__"):
        if _cuda_device(value) is not None:
            # The producer orders its writes before `stream` (None: the default stream, which
            # run() waits for); the capsule is read in place.
            return value.__dlpack__(stream=stream)
        try:
            array = np.from_dlpack(value)
        except (TypeError, BufferError, RuntimeError):
            return value  # a dtype NumPy lacks (bfloat16): the extension reads it as is
    else:
        array = np.asarray(value)
    if array.dtype.kind in "SUO":
        return _strings(array)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    return array


def cuda_devices(values: Iterable[Any]) -> Set[int]:
    """The CUDA devices the given input values live on."""
    return {d for d in (_cuda_device(v) for v in values) if d is not None}


def inputs_to_native(inputs: Mapping[str, Any], stream: Optional[int] = None) -> Dict[str, Any]:
    """Inputs by name, made ready for the extension; without a stream, waits for the default stream
    of every GPU an input lives on, where DLPack producers ordered their writes."""
    native = {name: to_native(value, stream) for name, value in inputs.items()}
    if stream is None:  # after __dlpack__, which queued the producers' writes before the default stream
        for device in cuda_devices(inputs.values()):
            _kiln.wait_for_default_stream(device)
    return native


def from_native(value: Any) -> Any:
    """An output from the extension: strings become a NumPy object array of bytes."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "strings":
        array = np.empty(len(value[1]), dtype=object)
        array[:] = value[1]
        return array.reshape(value[2])
    return value


def stream_handle(stream: Any) -> Optional[int]:
    """A CUDA stream as an integer handle: an int, or a PyTorch (``cuda_stream``) or CuPy (``ptr``)
    stream object; None stays None."""
    if stream is None or isinstance(stream, int):
        return stream
    for attribute in ("cuda_stream", "ptr"):
        if hasattr(stream, attribute):
            return int(getattr(stream, attribute))
    raise TypeError(f"stream must be a cudaStream_t handle (int) or a PyTorch/CuPy stream, not {type(stream).__name__}")
