"""The notebook-style example runs top to bottom, and kiln calls let other Python threads run."""

import pathlib
import runpy
import threading
import time

import numpy as np

import kiln

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def test_the_quickstart_example_runs_top_to_bottom(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KILN_EXAMPLE_OUT", str(tmp_path))
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    printed = capsys.readouterr().out
    assert "fp16 accuracy: 0.9" in printed, printed
    assert (tmp_path / "mnist_fp16" / "saved_model.pb").exists()


def test_runs_release_the_gil(mnist_path, heldout):
    images, _ = heldout
    batch = np.concatenate([images] * 8)  # a run long enough to watch
    model = kiln.load(mnist_path)
    model.run({"input_1": batch[:8]})
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        start = time.perf_counter()
        model.run({"input_1": batch})
        end = time.perf_counter()
    finally:
        done.set()
        thread.join()
    assert end - start > 0.02, "the run was too short to tell"
    inside = [t for t in ticks if start + 0.005 < t < end - 0.005]
    assert inside, f"no other thread ran during a {1e3 * (end - start):.0f} ms run"
