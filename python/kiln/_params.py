"""Conversion parameters: TF-TRT's names and defaults, and kiln's own additions."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from ._errors import InvalidArgumentError


class PrecisionMode(str, enum.Enum):
    """What engines compute in. FP16 and BF16 store values in 16 bits and accumulate in FP32;
    INT8 and FP8 need calibration (or a model that quantizes explicitly)."""

    FP32 = "FP32"
    FP16 = "FP16"
    BF16 = "BF16"
    INT8 = "INT8"
    FP8 = "FP8"

    @staticmethod
    def supported_precision_modes() -> list:
        return [m.value for m in PrecisionMode]

    @classmethod
    def parse(cls, value: Union["PrecisionMode", str]) -> "PrecisionMode":
        """The mode a value names: a PrecisionMode, or its name in any case ("fp16")."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.upper())
            except ValueError:
                pass
        modes = ", ".join(cls.supported_precision_modes())
        raise InvalidArgumentError(f"precision_mode {value!r} is not one of {modes}")


class Calibrator(str, enum.Enum):
    """How INT8/FP8 calibration picks each activation's range from the observed values."""

    ENTROPY = "entropy"
    PERCENTILE = "percentile"
    MINMAX = "minmax"


class ProfileStrategy(str, enum.Enum):
    """How dynamic-shape engines choose their shape profiles from the shapes seen in build()."""

    RANGE = "range"
    OPTIMAL = "optimal"
    RANGE_OPTIMAL = "range+optimal"


def _enum_value(enum_type: type, value: Any, field: str) -> Any:
    if isinstance(value, enum_type):
        return value
    if isinstance(value, str):
        for member in enum_type:
            if member.value == value.lower() or member.name == value.upper():
                return member
    choices = ", ".join(m.value for m in enum_type)
    raise InvalidArgumentError(f"{field} {value!r} is not one of {choices}")


@dataclasses.dataclass(frozen=True)
class ConversionParams:
    """What the converter does. The first six fields are TF-TRT's ``TrtConversionParams``, with its
    defaults; the rest are kiln's. ``params._replace(field=value)`` makes a changed copy, as with
    TF-TRT's named tuple."""

    #: FP32, FP16, BF16, INT8 or FP8 (a PrecisionMode or its name).
    precision_mode: Union[PrecisionMode, str] = PrecisionMode.FP32
    #: The most intermediate memory one engine may plan for; a segment needing more stays native.
    max_workspace_size_bytes: int = 1 << 30
    #: Segments with fewer ops stay native; -1 converts nothing.
    minimum_segment_size: int = 3
    #: Engines kept per segment, one per input-shape key (least recently used evicted).
    maximum_cached_engines: int = 1
    #: INT8/FP8: calibrate activation ranges on the inputs given to convert().
    use_calibration: bool = True
    #: Build an engine when an input shape arrives that no cached engine covers.
    allow_build_at_runtime: bool = True
    #: FP32 engines on a GPU may use TF32 for products and convolutions (about 1e-3 relative error).
    allow_tf32: bool = False
    #: Where engines are built and run: "cpu", "cuda" or "cuda:N"; None picks the first GPU if any.
    engine_device: Optional[str] = None
    #: The INT8/FP8 calibrator (a Calibrator or its name).
    calibrator: Union[Calibrator, str] = Calibrator.ENTROPY
    #: INT8: how much of an activation's per-channel range moves into the weights of the matrix
    #: products reading it (SmoothQuant), in [0, 1]; 0 turns smoothing off, None chooses it per layer
    #: on the calibration data.
    smoothing_alpha: Optional[float] = None
    #: Engines cover shape profiles (min/opt/max per input) rather than one exact shape.
    use_dynamic_shape: bool = False
    #: How dynamic-shape profiles are chosen (a ProfileStrategy or its name).
    profile_strategy: Union[ProfileStrategy, str] = ProfileStrategy.RANGE
    #: Op types that always stay native.
    denylist: Sequence[str] = ()
    #: Keep at most this many segments (the largest); -1: no cap.
    maximum_segments: int = -1
    #: Run a segment's original ops when its engine is missing, unusable or fails; when False those
    #: cases are errors.
    allow_native_fallback: bool = True
    #: Layers kept above precision_mode, as "PRECISION:LAYER" (fp32, fp16 or bf16; a node name or an
    #: op type), e.g. ("fp16:conv2d/Conv2D", "fp32:Softmax"): what ``kiln.compare`` suggests.
    keep_precision: Sequence[str] = ()

    def __post_init__(self) -> None:
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        set_("precision_mode", PrecisionMode.parse(self.precision_mode))
        set_("calibrator", _enum_value(Calibrator, self.calibrator, "calibrator"))
        set_("profile_strategy", _enum_value(ProfileStrategy, self.profile_strategy, "profile_strategy"))
        for name in ("max_workspace_size_bytes", "minimum_segment_size", "maximum_cached_engines", "maximum_segments"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        for name in ("use_calibration", "allow_build_at_runtime", "allow_tf32", "use_dynamic_shape",
                     "allow_native_fallback"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {type(getattr(self, name)).__name__}")
        if self.smoothing_alpha is not None:
            if isinstance(self.smoothing_alpha, bool) or not isinstance(self.smoothing_alpha, (int, float)):
                raise TypeError(f"smoothing_alpha must be a number or None, not {type(self.smoothing_alpha).__name__}")
            set_("smoothing_alpha", float(self.smoothing_alpha))
        if self.engine_device is not None and not isinstance(self.engine_device, str):
            raise TypeError("engine_device must be a device name such as 'cuda', not "
                            f"{type(self.engine_device).__name__}")
        if isinstance(self.denylist, str) or not all(isinstance(op, str) for op in self.denylist):
            raise TypeError("denylist must be a sequence of op type names")
        set_("denylist", tuple(self.denylist))
        if isinstance(self.keep_precision, str) or not all(isinstance(p, str) for p in self.keep_precision):
            raise TypeError("keep_precision must be a sequence of 'PRECISION:LAYER' strings")
        set_("keep_precision", tuple(self.keep_precision))

    def _replace(self, **changes: Any) -> "ConversionParams":
        return dataclasses.replace(self, **changes)

    def _native(self) -> Dict[str, Any]:
        """The fields as the extension module takes them."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["precision_mode"] = self.precision_mode.value.lower()
        fields["calibrator"] = self.calibrator.value
        fields["profile_strategy"] = self.profile_strategy.value
        fields["denylist"] = list(self.denylist)
        fields["keep_precision"] = list(self.keep_precision)
        return fields


DEFAULT_CONVERSION_PARAMS = ConversionParams()

Tags = Union[str, Sequence[str]]


def tag_list(tags: Optional[Tags]) -> Tuple[str, ...]:
    """Tags as a tuple: a comma-separated string or a sequence; None means ("serve",)."""
    if tags is None:
        return ("serve",)
    if isinstance(tags, str):
        return tuple(t.strip() for t in tags.split(",") if t.strip())
    return tuple(tags)
