"""A converted model keeps its weights in variables/, the tensor bundle TensorFlow writes: TensorFlow's
own checkpoint reader reads every tensor kiln saved there (checking its checksum), each one is a weight
of the original model, and saved_model.pb is left with the graph."""

import numpy as np
import pytest

import kiln

tf = pytest.importorskip("tensorflow")


def test_tensorflow_reads_the_weights_kiln_saved(tmp_path, mnist_path):
    converter = kiln.Converter(mnist_path, conversion_params=kiln.ConversionParams(engine_device="cpu"),
                               progress=False)
    converter.convert()
    converter.save(tmp_path / "m")
    saved = tf.train.load_checkpoint(str(tmp_path / "m" / "variables" / "variables"))
    ours = {key: saved.get_tensor(key) for key in saved.get_variable_to_shape_map()}
    original = tf.train.load_checkpoint(f"{mnist_path}/variables/variables")
    weights = [original.get_tensor(key) for key in original.get_variable_to_shape_map()
               if key.endswith("VARIABLE_VALUE")]
    # The four kernels and fc1's bias are past the 1 KiB that stays inline; the smaller biases are not.
    assert len(ours) == 5
    for key, value in ours.items():
        assert any(w.shape == value.shape and np.array_equal(w, value) for w in weights), key
    assert (tmp_path / "m" / "saved_model.pb").stat().st_size < 64 * 1024
