"""Shared fixtures of the Python package's tests: the MNIST SavedModel that ships with kiln, its
TensorFlow goldens and held-out digits, and the ONNX fixtures the test setup generates."""

import os
import pathlib

import numpy as np
import pytest

import kiln

REPO = pathlib.Path(__file__).resolve().parents[2]
MNIST_DIR = REPO / "fixtures" / "mnist"
MNIST = MNIST_DIR / "saved_model"


def fixture_path(name: str) -> pathlib.Path:
    """A generated fixture: $KILN_FIXTURE_DIR/<name>, else build/fixtures/<name>."""
    root = os.environ.get("KILN_FIXTURE_DIR") or str(REPO / "build" / "fixtures")
    return pathlib.Path(root) / name


def pytest_collection_modifyitems(config, items):
    if kiln.cuda_device_count() > 0:
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine (or kiln built without CUDA)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mnist_path() -> str:
    return str(MNIST)


@pytest.fixture(scope="session")
def heldout():
    """360 held-out digits and their labels."""
    return np.load(MNIST_DIR / "heldout_images.npy"), np.load(MNIST_DIR / "heldout_labels.npy")


@pytest.fixture(scope="session")
def golden():
    """Inputs and TensorFlow's outputs for them."""
    inputs = dict(np.load(MNIST_DIR / "inputs.npz"))
    outputs = dict(np.load(MNIST_DIR / "outputs.npz"))
    return inputs, outputs


@pytest.fixture(scope="session")
def calibration_images():
    return np.load(MNIST_DIR / "calibration.npz")["input_1"]


def accuracy(model: kiln.Model, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities = model.run({"input_1": images})["probabilities"]
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))
