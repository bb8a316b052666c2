"""kiln.compare and keep_precision from Python: the report's objects, pins at conversion and at
load, and running a converted model's original ops."""

import numpy as np
import pytest

import kiln


def test_compare_names_the_layers_and_their_pins(tmp_path, mnist_path, golden, calibration_images):
    inputs, _ = golden
    params = kiln.ConversionParams(precision_mode="INT8", engine_device="cpu")
    converter = kiln.Converter(mnist_path, params)
    converter.convert(lambda: iter([(calibration_images,)]))
    converter.save(tmp_path / "int8")
    report = kiln.compare(tmp_path / "int8", lambda: iter([inputs]), max_layers=2)
    assert report.precision == "int8" and report.input_sets == 1
    assert [t.name for t in report.outputs] == ["probabilities"]
    assert report.outputs[0].cosine > 0.99 and report.outputs[0].top1_agreement == 1.0
    assert [t.name for t in report.boundaries] == ["KilnEngineOp_0:0"]
    assert len(report.layers) == 2 and report.layers[0].pin.startswith("fp16:")
    assert "--keep-precision " + report.layers[0].pin in str(report)
    assert "<table>" in report._repr_html_()
    # The pin it suggests, at load and at conversion.
    pinned = kiln.load(tmp_path / "int8", keep_precision=[report.layers[0].pin])
    pinned.run(inputs)
    assert pinned.engine_stats()[0].engines_built == 1
    again = kiln.Converter(mnist_path, params._replace(keep_precision=[report.layers[0].pin]))
    again.convert(lambda: iter([(calibration_images,)]))
    again.build(lambda: iter([inputs]))
    assert any("kept in fp16: " in note for note in again.summary().notes)


def test_a_converted_model_can_run_its_original_ops(tmp_path, mnist_path, golden):
    inputs, outputs = golden
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(precision_mode="FP16", engine_device="cpu"))
    converter.convert()
    converter.save(tmp_path / "fp16")
    original = kiln.load(tmp_path / "fp16", use_engines=False)
    np.testing.assert_allclose(original.run(inputs)["probabilities"], outputs["probabilities"], atol=1e-4)
    assert original.engine_stats()[0].native_runs == 1


def test_bad_pins_and_models_are_clear_errors(tmp_path, mnist_path, golden):
    with pytest.raises(kiln.InvalidArgumentError, match="PRECISION:LAYER"):
        kiln.Converter(mnist_path, kiln.ConversionParams(keep_precision=["Conv2D"]))
    with pytest.raises(TypeError, match="keep_precision"):
        kiln.ConversionParams(keep_precision="fp16:Conv2D")
    converter = kiln.Converter(mnist_path, kiln.ConversionParams(keep_precision=["fp32:Conv9"], engine_device="cpu"))
    with pytest.raises(kiln.InvalidArgumentError, match="names no node"):
        converter.convert()
    with pytest.raises(kiln.FailedPreconditionError, match="not a model converted by kiln"):
        kiln.compare(mnist_path, lambda: iter([golden[0]]))
    with pytest.raises(kiln.InvalidArgumentError, match="at least one input set"):
        kiln.compare(mnist_path, lambda: iter([]))
