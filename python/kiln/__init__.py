"""kiln: TensorFlow SavedModels and ONNX files converted into models whose supported parts run as
compiled engines (FP32, FP16, BF16, INT8, FP8) and whose other parts run natively.

    import kiln
    params = kiln.ConversionParams(precision_mode=kiln.PrecisionMode.FP16)
    converter = kiln.Converter("saved_model_dir", conversion_params=params)
    converter.convert()
    converter.build(input_fn=build_batches)       # optional: engines ahead of time
    converter.save("converted_dir")
    model = kiln.load("converted_dir", device="cuda")
    outputs = model.signatures["serving_default"](input_1=images)

TF-TRT code runs with ``from kiln.compat import trt_convert as trt`` in place of TensorFlow's.
"""

from . import _kiln
from ._compare import ComparisonReport, LayerFinding, TensorComparison, compare
from ._converter import Converter, build_engines, summarize
from ._errors import (DataLossError, FailedPreconditionError, InternalError, InvalidArgumentError, KilnError,
                      NotFoundError, OutOfRangeError, ResourceExhaustedError, UnavailableError, UnimplementedError)
from ._model import Model, SignatureFunction, load
from ._params import DEFAULT_CONVERSION_PARAMS, Calibrator, ConversionParams, PrecisionMode, ProfileStrategy
from ._reports import (ConversionSummary, EngineStats, EngineStatsList, EngineSummary, HostNode, NativeNode, Signature,
                       TensorSpec)

__version__: str = _kiln.__version__


def cuda_device_count() -> int:
    """The CUDA GPUs kiln can use: 0 when it was built without CUDA or there is no GPU."""
    return _kiln.cuda_device_count()


__all__ = [
    "Calibrator", "ComparisonReport", "ConversionParams", "ConversionSummary", "Converter",
    "DEFAULT_CONVERSION_PARAMS", "DataLossError", "EngineStats", "EngineStatsList", "EngineSummary",
    "FailedPreconditionError", "HostNode", "InternalError", "InvalidArgumentError", "KilnError",
    "LayerFinding", "Model", "NativeNode", "NotFoundError", "OutOfRangeError", "PrecisionMode",
    "ProfileStrategy", "ResourceExhaustedError", "Signature", "SignatureFunction", "TensorComparison",
    "TensorSpec", "UnavailableError", "UnimplementedError", "build_engines", "compare", "cuda_device_count",
    "load", "summarize",
]
