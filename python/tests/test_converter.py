"""kiln.Converter: every precision on the MNIST SavedModel, calibration and build input functions
in every form TF-TRT takes, summaries, and the errors of bad parameters, bad input functions and
steps out of order."""

import io
import sys

import numpy as np
import pytest

import kiln
from conftest import accuracy, fixture_path


def batches(images, size=60):
    """A generator function over `images`, a one-array tuple per batch (the blog's input_fn)."""
    def input_fn():
        for start in range(0, len(images), size):
            yield (images[start:start + size],)
    return input_fn


@pytest.mark.parametrize("precision,min_accuracy", [("FP32", 0.98), ("FP16", 0.98), ("BF16", 0.97)])
def test_converted_mnist_keeps_its_accuracy(tmp_path, mnist_path, heldout, precision, min_accuracy):
    images, labels = heldout
    params = kiln.ConversionParams(precision_mode=precision, engine_device="cpu")
    converter = kiln.Converter(mnist_path, conversion_params=params, progress=False)
    converter.convert()
    converter.build(input_fn=batches(images, 360))
    converter.save(tmp_path / "converted")
    model = kiln.load(tmp_path / "converted")
    assert accuracy(model, images, labels) >= min_accuracy
    stats = model.engine_stats()
    assert len(stats) == 1 and stats[0].engine_runs == 1 and stats[0].native_runs == 0
    assert stats[0].engines_loaded == 1  # the engine build() made was saved and used
    assert "engine runs" in str(stats) and "<table>" in stats._repr_html_()


def test_int8_calibrates_on_the_calibration_input_fn(tmp_path, mnist_path, heldout, calibration_images):
    images, labels = heldout
    params = kiln.ConversionParams(precision_mode=kiln.PrecisionMode.INT8, engine_device="cpu")
    converter = kiln.Converter(mnist_path, params, progress=False)
    # Dicts by input name are input sets too.
    converter.convert(
        calibration_input_fn=lambda: ({"input_1": calibration_images[i:i + 32]} for i in range(0, 128, 32)))
    converter.save(str(tmp_path / "int8"))
    summary = converter.summary()
    assert summary.precision == "int8"
    assert any("calibrated" in note for note in summary.notes), summary.notes
    assert accuracy(kiln.load(tmp_path / "int8"), images, labels) >= 0.97


def test_the_summary_reports_the_conversion(mnist_path):
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(engine_device="cpu"))
    converter.convert()
    summary = converter.summary()
    assert isinstance(summary, kiln.ConversionSummary)
    assert summary.converted_ops > 0 and summary.total_ops >= summary.converted_ops
    assert len(summary.engines) == 1 and summary.engines[0].op_counts.get("Conv2D") == 2
    assert "KilnEngineOp" in str(summary)
    html = summary._repr_html_()
    assert html.startswith("<p><b>kiln conversion") and "<table>" in html
    assert converter.signature.inputs[0].name == "input_1"


def test_converted_models_are_summarized_and_built_where_they_are_loaded(tmp_path, mnist_path, heldout):
    images, labels = heldout
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(engine_device="cpu"))
    converter.convert()
    converter.save(tmp_path / "m", save_engines=False)
    assert kiln.summarize(tmp_path / "m").engines[0].engines == ()
    kiln.build_engines(tmp_path / "m", batches(images, 100), device="cpu", progress=False)
    assert len(kiln.summarize(tmp_path / "m").engines[0].engines) > 0
    model = kiln.load(tmp_path / "m")
    model.run({"input_1": images[:100]})
    assert model.engine_stats()[0].engines_loaded == 1


def test_an_onnx_file_converts(tmp_path):
    path = fixture_path("onnx_small_cnn") / "model.onnx"
    if not path.exists():
        pytest.skip(f"{path} is made by scripts/make_fixtures.py")
    inputs = dict(np.load(path.parent / "inputs.npz"))
    goldens = np.load(path.parent / "outputs.npz")
    converter = kiln.Converter(path, kiln.ConversionParams(engine_device="cpu"))
    converter.convert()
    converter.save(tmp_path / "onnx")
    got = kiln.load(tmp_path / "onnx").run(inputs)
    for name, want in goldens.items():
        np.testing.assert_allclose(got[name], want, atol=1e-4, rtol=1e-4)


def test_progress_is_drawn_when_asked(mnist_path, calibration_images, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    params = kiln.ConversionParams(precision_mode="int8", engine_device="cpu")
    converter = kiln.Converter(mnist_path, params, progress=True)
    converter.convert(batches(calibration_images, 32))
    assert "calibrate 4" in err.getvalue(), err.getvalue()  # 128 images in batches of 32
    # Off the terminal, nothing by default.
    err2 = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err2)
    quiet = kiln.Converter(mnist_path, params)
    quiet.convert(batches(calibration_images, 32))
    assert err2.getvalue() == ""


def test_parameters_have_tf_trts_names_and_defaults():
    p = kiln.ConversionParams()
    assert (p.precision_mode, p.max_workspace_size_bytes, p.minimum_segment_size, p.maximum_cached_engines,
            p.use_calibration, p.allow_build_at_runtime) == (kiln.PrecisionMode.FP32, 1 << 30, 3, 1, True, True)
    q = p._replace(precision_mode="fp16", denylist=["Softmax"])
    assert q.precision_mode is kiln.PrecisionMode.FP16 and q.denylist == ("Softmax",)
    assert p.precision_mode is kiln.PrecisionMode.FP32  # unchanged
    assert kiln.DEFAULT_CONVERSION_PARAMS == p


def test_bad_parameters_are_refused_with_the_field_named(mnist_path):
    with pytest.raises(kiln.InvalidArgumentError, match="precision_mode 'FP4'"):
        kiln.ConversionParams(precision_mode="FP4")
    with pytest.raises(TypeError, match="minimum_segment_size"):
        kiln.ConversionParams(minimum_segment_size="3")
    with pytest.raises(TypeError, match="use_calibration"):
        kiln.ConversionParams(use_calibration=1)
    with pytest.raises(kiln.InvalidArgumentError, match="calibrator 'median'"):
        kiln.ConversionParams(calibrator="median")
    with pytest.raises(TypeError, match="denylist"):
        kiln.ConversionParams(denylist="Softmax")
    with pytest.raises(TypeError, match="smoothing_alpha"):
        kiln.ConversionParams(smoothing_alpha="0.5")
    with pytest.raises(kiln.InvalidArgumentError, match="smoothing_alpha is 1.5"):
        kiln.Converter(mnist_path, conversion_params=kiln.ConversionParams(smoothing_alpha=1.5))
    with pytest.raises(TypeError, match="conversion_params"):
        kiln.Converter("x", conversion_params={"precision_mode": "FP16"})


def test_bad_models_and_devices_are_clear_errors(tmp_path, mnist_path):
    with pytest.raises(kiln.NotFoundError):
        kiln.Converter(tmp_path / "missing")
    with pytest.raises(kiln.InvalidArgumentError, match="tpu"):
        kiln.Converter(mnist_path, kiln.ConversionParams(engine_device="tpu"))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\xff garbage")
    with pytest.raises(kiln.KilnError) as info:
        kiln.Converter(tmp_path / "broken")
    assert "saved_model.pb" in str(info.value)


def test_steps_out_of_order_are_runtime_errors(tmp_path, mnist_path, heldout):
    images, _ = heldout
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(engine_device="cpu"))
    with pytest.raises(kiln.FailedPreconditionError) as info:
        converter.save(tmp_path / "early")
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(kiln.FailedPreconditionError):
        converter.build(batches(images))
    converter.convert()
    with pytest.raises(kiln.FailedPreconditionError, match="already"):
        converter.convert()


def test_input_functions_that_do_not_fit_are_clear_errors(mnist_path, heldout):
    images, _ = heldout
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(engine_device="cpu"))
    converter.convert()
    with pytest.raises(kiln.InvalidArgumentError, match="gave 2 array"):
        converter.build(lambda: iter([(images, images)]))
    with pytest.raises(kiln.InvalidArgumentError, match="'pixels'"):
        converter.build(lambda: iter([{"pixels": images}]))
    with pytest.raises(TypeError, match="generator function"):
        converter.build(42)
    with pytest.raises(kiln.InvalidArgumentError, match="float64"):
        converter.build(lambda: iter([(images.astype(np.float64),)]))


def test_an_input_function_that_raises_raises_its_own_exception(mnist_path, calibration_images):
    class Broken(Exception):
        pass

    def calibration():
        yield (calibration_images[:32],)
        raise Broken("the data loader failed")

    converter = kiln.Converter(mnist_path, kiln.ConversionParams(precision_mode="INT8", engine_device="cpu"))
    with pytest.raises(Broken, match="the data loader failed"):
        converter.convert(calibration)
    # The failed convert() can be retried.
    converter.convert(batches(calibration_images, 32))
    assert converter.summary().precision == "int8"
