"""Input functions, as TF-TRT takes them: a generator function (or any iterable) yielding, per
step, a tuple or list of arrays in the signature's input order, a dict of arrays by input name, or
a single array for a one-input signature."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, Mapping, Sequence, Union

from ._arrays import to_native
from ._errors import InvalidArgumentError

InputFn = Union[Callable[[], Iterable[Any]], Iterable[Any]]


def input_sets(input_fn: InputFn, input_names: Sequence[str], what: str) -> Iterator[Dict[str, Any]]:
    """{name: array} per step of `input_fn` (`what` names it in errors, e.g. "calibration_input_fn")."""
    if callable(input_fn):
        source = input_fn()
    else:
        source = input_fn
    try:
        steps = iter(source)
    except TypeError:
        raise TypeError(f"{what} must be a generator function or an iterable of input sets, "
                        f"not {type(input_fn).__name__}") from None
    for index, item in enumerate(steps):
        yield {name: to_native(value) for name, value in _by_name(item, input_names, what, index).items()}


def _by_name(item: Any, input_names: Sequence[str], what: str, index: int) -> Mapping[str, Any]:
    where = f"{what} step {index}"
    if isinstance(item, Mapping):
        unknown = sorted(set(item) - set(input_names))
        if unknown:
            raise InvalidArgumentError(f"{where} names input(s) {', '.join(map(repr, unknown))}; the signature's "
                                       f"inputs are {', '.join(map(repr, input_names))}")
        return item
    if isinstance(item, (tuple, list)):
        if len(item) != len(input_names):
            raise InvalidArgumentError(f"{where} gave {len(item)} array(s); the signature has {len(input_names)} "
                                       f"input(s): {', '.join(map(repr, input_names))}")
        return dict(zip(input_names, item))
    if len(input_names) == 1:
        return {input_names[0]: item}
    raise InvalidArgumentError(f"{where} gave a {type(item).__name__}; give a tuple or list of arrays in the "
                               f"order {', '.join(map(repr, input_names))}, or a dict by name")
