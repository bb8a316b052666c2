"""kiln.load and running models: answers against TensorFlow's, every way of passing inputs and
taking outputs, threads sharing a model, and the errors of bad paths and bad inputs."""

import threading

import numpy as np
import pytest

import kiln
from conftest import fixture_path


def test_mnist_answers_like_tensorflow(mnist_path, golden):
    inputs, outputs = golden
    model = kiln.load(mnist_path)
    got = model.run(inputs)
    assert set(got) == {"probabilities"}
    np.testing.assert_allclose(got["probabilities"], outputs["probabilities"], atol=1e-4, rtol=1e-4)


def test_the_signature_describes_inputs_and_outputs(mnist_path):
    model = kiln.load(mnist_path, tags=["serve"], signature_key="serving_default", device="cpu")
    sig = model.signature
    assert sig.key == "serving_default"
    assert [(t.name, t.dtype, t.shape) for t in sig.inputs] == [("input_1", "float32", (None, 28, 28, 1))]
    assert [(t.name, t.dtype, t.shape) for t in sig.outputs] == [("probabilities", "float32", (None, 10))]
    assert str(sig) == "serving_default(input_1: float32[?,28,28,1]) -> (probabilities: float32[?,10])"
    assert model.device == "cpu"
    assert model.op_counts()["Conv2D"] == 2
    assert model.host_nodes() == []
    assert "serving_default" in repr(model)


def test_signature_functions_take_positional_and_keyword_inputs(mnist_path, golden):
    inputs, outputs = golden
    model = kiln.load(mnist_path)
    infer = model.signatures["serving_default"]
    by_position = infer(inputs["input_1"])["probabilities"]
    by_name = infer(input_1=inputs["input_1"])["probabilities"]
    np.testing.assert_array_equal(by_position, by_name)
    assert list(model.signatures) == ["serving_default"]
    with pytest.raises(KeyError, match="loaded with signature 'serving_default'"):
        model.signatures["other"]
    with pytest.raises(kiln.InvalidArgumentError, match="both by position and by name"):
        infer(inputs["input_1"], input_1=inputs["input_1"])
    with pytest.raises(kiln.InvalidArgumentError, match="2 positional input"):
        infer(inputs["input_1"], inputs["input_1"])


def test_arrays_of_every_kind_are_inputs(mnist_path, golden):
    inputs, outputs = golden
    model = kiln.load(mnist_path)
    want = outputs["probabilities"]
    images = inputs["input_1"]
    # A read-only array, a non-contiguous view (copied once) and a PyTorch tensor (read through DLPack).
    frozen = images.copy()
    frozen.setflags(write=False)
    np.testing.assert_allclose(model.run({"input_1": frozen})["probabilities"], want, atol=1e-4)
    doubled = np.repeat(images, 2, axis=0)[::2]
    assert not doubled.flags.c_contiguous
    np.testing.assert_allclose(model.run({"input_1": doubled})["probabilities"], want, atol=1e-4)
    torch = pytest.importorskip("torch")
    got = model.run({"input_1": torch.from_numpy(images)})["probabilities"]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_tensorflow_tensors_are_inputs(mnist_path, golden):
    tf = pytest.importorskip("tensorflow")
    inputs, outputs = golden
    infer = kiln.load(mnist_path).signatures["serving_default"]
    got = infer(tf.constant(inputs["input_1"]))["probabilities"]
    np.testing.assert_allclose(got, outputs["probabilities"], atol=1e-4)


def test_dlpack_outputs_go_to_other_frameworks_without_a_copy(mnist_path, golden):
    torch = pytest.importorskip("torch")
    inputs, outputs = golden
    model = kiln.load(mnist_path)
    out = model.run(inputs, output="dlpack")["probabilities"]
    assert hasattr(out, "__dlpack__")
    tensor = torch.from_dlpack(out)
    np.testing.assert_allclose(tensor.numpy(), outputs["probabilities"], atol=1e-4)
    # The tensor keeps kiln's memory alive after the array is gone.
    del out
    np.testing.assert_allclose(tensor.numpy(), outputs["probabilities"], atol=1e-4)


def test_outputs_outlive_the_model(mnist_path, golden):
    inputs, outputs = golden
    model = kiln.load(mnist_path)
    got = model.run(inputs)["probabilities"]
    del model
    np.testing.assert_allclose(got, outputs["probabilities"], atol=1e-4)


def test_threads_share_one_model(mnist_path, heldout):
    images, _ = heldout
    model = kiln.load(mnist_path)
    want = model.run({"input_1": images[:32]})["probabilities"]
    mismatches = []

    def worker():
        for _ in range(10):
            got = model.run({"input_1": images[:32]})["probabilities"]
            mismatches.append(not np.array_equal(got, want))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mismatches) == 40 and not any(mismatches)


def test_an_onnx_file_loads_and_runs():
    path = fixture_path("onnx_small_cnn") / "model.onnx"
    if not path.exists():
        pytest.skip(f"{path} is made by scripts/make_fixtures.py")
    data = np.load(path.parent / "inputs.npz")
    goldens = np.load(path.parent / "outputs.npz")
    model = kiln.load(path)
    got = model.run(dict(data))
    for name, want in goldens.items():
        np.testing.assert_allclose(got[name], want, atol=1e-4, rtol=1e-4)


def test_missing_models_are_file_not_found_errors(tmp_path):
    with pytest.raises(kiln.NotFoundError) as info:
        kiln.load(tmp_path / "nowhere")
    assert isinstance(info.value, FileNotFoundError)
    assert "nowhere" in str(info.value)
    assert info.value.code == "NotFound"


def test_bad_load_arguments_are_value_errors(mnist_path):
    with pytest.raises(kiln.NotFoundError, match="no_such_signature"):
        kiln.load(mnist_path, signature_key="no_such_signature")
    with pytest.raises(kiln.NotFoundError):
        kiln.load(mnist_path, tags="train")
    with pytest.raises(ValueError, match="gpu7"):
        kiln.load(mnist_path, device="gpu7")
    with pytest.raises(TypeError):
        kiln.load(mnist_path, device=0)


def test_bad_inputs_are_value_errors_that_say_what_is_wrong(mnist_path, golden):
    inputs, _ = golden
    model = kiln.load(mnist_path)
    images = inputs["input_1"]
    cases = [
        ({"input_1": images.astype(np.float64)}, "float64"),
        ({"input_1": images[:, :27]}, "input_1"),
        ({}, "input_1"),
        ({"input_1": images, "extra": images}, "extra"),
        ({"input_1": object()}, "input_1"),
    ]
    for bad, needle in cases:
        with pytest.raises(kiln.InvalidArgumentError) as info:
            model.run(bad)
        assert isinstance(info.value, ValueError)
        assert needle in str(info.value), str(info.value)
    with pytest.raises(kiln.InvalidArgumentError, match="output="):
        model.run(inputs, output="torch")
    with pytest.raises(TypeError):
        model.run([images])


def test_engine_stats_of_an_unconverted_model_are_empty(mnist_path):
    stats = kiln.load(mnist_path).engine_stats()
    assert list(stats) == []
    assert "not a model converted by kiln" in str(stats)


@pytest.mark.gpu
def test_cuda_tensors_in_and_out_in_place(mnist_path, golden):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch here has no CUDA")
    inputs, outputs = golden
    model = kiln.load(mnist_path, device="cuda")
    images = torch.from_numpy(inputs["input_1"]).cuda()
    out = model.run({"input_1": images}, output="dlpack")["probabilities"]
    assert out.__dlpack_device__()[0] == 2  # CUDA
    got = torch.from_dlpack(out)
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), outputs["probabilities"], atol=1e-4)
    # On the caller's stream.
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        doubled = images * 1.0
        out = model.run({"input_1": doubled}, output="dlpack", stream=stream)["probabilities"]
        got = torch.from_dlpack(out)
    stream.synchronize()
    np.testing.assert_allclose(got.cpu().numpy(), outputs["probabilities"], atol=1e-4)
