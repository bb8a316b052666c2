"""TF-TRT code on kiln: the blog's conversions (FP32, FP16, INT8 with calibration) written as TF-TRT
users wrote them, with only the import line and the load call changed, and the arguments kiln
ignores or refuses."""

import warnings

import numpy as np
import pytest

import kiln
from kiln.compat import signature_constants, tag_constants
from kiln.compat import trt_convert as trt  # was: from tensorflow.python.compiler.tensorrt import trt_convert as trt

BATCH_SIZE = 120


def test_the_blogs_conversions_run_as_written(tmp_path, mnist_path, heldout, calibration_images):
    x_test, y_test = heldout
    input_saved_model_dir = mnist_path

    def my_input_fn():
        for i in range(0, len(x_test), BATCH_SIZE):
            yield (x_test[i:i + BATCH_SIZE],)

    def calibration_input_fn():
        for i in range(0, len(calibration_images), 32):
            yield (calibration_images[i:i + 32],)

    for precision_mode in [trt.TrtPrecisionMode.FP32, trt.TrtPrecisionMode.FP16, trt.TrtPrecisionMode.INT8]:
        output_saved_model_dir = str(tmp_path / ("mnist_" + precision_mode))

        # --- as in the blog ---
        conversion_params = trt.DEFAULT_TRT_CONVERSION_PARAMS._replace(
            precision_mode=precision_mode, max_workspace_size_bytes=8000000000, maximum_cached_engines=100)
        converter = trt.TrtGraphConverterV2(input_saved_model_dir=input_saved_model_dir,
                                            conversion_params=conversion_params)
        if precision_mode == trt.TrtPrecisionMode.INT8:
            converter.convert(calibration_input_fn=calibration_input_fn)
        else:
            converter.convert()
        converter.build(input_fn=my_input_fn)
        converter.save(output_saved_model_dir=output_saved_model_dir)

        saved_model_loaded = kiln.load(output_saved_model_dir, tags=[tag_constants.SERVING])  # was tf.saved_model.load
        signature_keys = list(saved_model_loaded.signatures.keys())
        infer = saved_model_loaded.signatures[signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY]
        predictions = []
        for i in range(0, len(x_test), BATCH_SIZE):
            output = infer(x_test[i:i + BATCH_SIZE])
            predictions.append(np.argmax(output["probabilities"], axis=1))
        accuracy = np.mean(np.concatenate(predictions) == y_test)
        # --- end of the blog's code ---

        assert signature_keys == ["serving_default"]
        assert accuracy >= 0.97, (precision_mode, accuracy)
        stats = saved_model_loaded.engine_stats()[0]
        assert stats.engine_runs == 3 and stats.native_runs == 0 and stats.engines_built == 0, stats


def test_conversion_params_are_tf_trts_named_tuple():
    p = trt.TrtConversionParams(precision_mode=trt.TrtPrecisionMode.FP16)
    assert p._fields == ("max_workspace_size_bytes", "precision_mode", "minimum_segment_size",
                         "maximum_cached_engines", "use_calibration", "allow_build_at_runtime")
    assert trt.DEFAULT_TRT_CONVERSION_PARAMS.max_workspace_size_bytes == 1 << 30
    assert p._replace(minimum_segment_size=5).minimum_segment_size == 5
    assert "fp16" in trt.TrtPrecisionMode.supported_precision_modes()


def test_converter_arguments_work_without_conversion_params(tmp_path, mnist_path, heldout):
    x_test, _ = heldout
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path, precision_mode="FP16",
                                        minimum_segment_size=2, use_dynamic_shape=True,
                                        dynamic_shape_profile_strategy="Optimal")
    converter.convert()
    converter.summary()
    converter.save(str(tmp_path / "m"), save_gpu_specific_engines=False)
    assert kiln.summarize(tmp_path / "m").precision == "fp16"
    assert kiln.load(tmp_path / "m").run({"input_1": x_test[:4]})["probabilities"].shape == (4, 10)


def test_arguments_kiln_has_no_use_for_warn_once(tmp_path, mnist_path):
    with pytest.warns(UserWarning, match="is_dynamic_op"):
        trt.DEFAULT_TRT_CONVERSION_PARAMS._replace(is_dynamic_op=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: no warning
        trt.TrtConversionParams(is_dynamic_op=True)
    converter = trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path)
    converter.convert()
    with pytest.warns(UserWarning, match="SaveOptions"):
        converter.save(str(tmp_path / "m"), options=object())
    with pytest.raises(TypeError, match="no field 'max_engines'"):
        trt.TrtConversionParams(max_engines=3)


def test_arguments_kiln_cannot_honour_are_refused(mnist_path, calibration_images):
    with pytest.raises(ValueError, match="input_saved_model_dir is required"):
        trt.TrtGraphConverterV2()
    with pytest.raises(ValueError, match="ImplicitBatchModeCompatible"):
        trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path, use_dynamic_shape=True,
                                dynamic_shape_profile_strategy="ImplicitBatchModeCompatible")
    with pytest.raises(ValueError, match="precision_mode 'INT4'"):
        trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path, precision_mode="INT4")
    fp32 = trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path)
    with pytest.raises(ValueError, match="only used for INT8"):
        fp32.convert(calibration_input_fn=lambda: iter([(calibration_images,)]))
    int8 = trt.TrtGraphConverterV2(input_saved_model_dir=mnist_path, precision_mode=trt.TrtPrecisionMode.INT8)
    with pytest.raises(ValueError, match="needs calibration_input_fn"):
        int8.convert()
    with pytest.raises(ValueError, match="needs convert"):
        int8.save("/tmp/never")
