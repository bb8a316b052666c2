"""kiln's errors as Python exceptions.

Every failing kiln call raises a subclass of :class:`KilnError` that is also the built-in
exception a Python programmer expects for that kind of failure (``ValueError`` for bad input,
``FileNotFoundError`` for a missing file, ``RuntimeError`` for a step taken out of order...). The
message is kiln's own, unchanged: what is wrong and where (file, node, input).
"""

from __future__ import annotations

from typing import Optional


class KilnError(Exception):
    """An error from kiln. ``str(error)`` is kiln's message; the fields say where it happened."""

    def __init__(self, text: str, code: str = "", message: str = "", node: str = "", op: str = "",
                 file: str = "") -> None:
        super().__init__(text)
        #: kiln's status code, e.g. ``"InvalidArgument"``.
        self.code = code
        #: The message without the code and the location.
        self.message = message or text
        #: The graph node, its op type and the file the error concerns, where known.
        self.node: Optional[str] = node or None
        self.op: Optional[str] = op or None
        self.file: Optional[str] = file or None


class InvalidArgumentError(KilnError, ValueError):
    """A model, parameter or input kiln cannot accept."""


class NotFoundError(KilnError, FileNotFoundError):
    """A file, signature, tag set or input that does not exist."""


class UnimplementedError(KilnError, NotImplementedError):
    """Something kiln does not support (yet): an op, a dtype, a feature of a file format."""


class DataLossError(KilnError, ValueError):
    """A damaged or truncated file."""


class FailedPreconditionError(KilnError, RuntimeError):
    """A call made in the wrong state, e.g. ``save()`` before ``convert()``."""


class OutOfRangeError(KilnError, ValueError):
    """A value outside what a file or parameter allows."""


class InternalError(KilnError, RuntimeError):
    """A failure inside kiln or a library it uses (CUDA, cuDNN, cuBLAS)."""


class UnavailableError(KilnError, RuntimeError):
    """A device or service that cannot be used now."""


class ResourceExhaustedError(KilnError, MemoryError):
    """Out of memory (on the host or a GPU) or another limit reached."""


_BY_CODE = {
    "InvalidArgument": InvalidArgumentError,
    "NotFound": NotFoundError,
    "Unimplemented": UnimplementedError,
    "DataLoss": DataLossError,
    "FailedPrecondition": FailedPreconditionError,
    "OutOfRange": OutOfRangeError,
    "Internal": InternalError,
    "Unavailable": UnavailableError,
    "ResourceExhausted": ResourceExhaustedError,
}


def status_error(code: str, text: str, message: str, node: str, op: str, file: str) -> KilnError:
    """The exception for a kiln status (the extension module raises it)."""
    return _BY_CODE.get(code, KilnError)(text, code, message, node, op, file)
