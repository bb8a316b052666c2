#!/usr/bin/env python3
"""CPU peer benchmark for kiln's MNIST model: TensorFlow-CPU and onnxruntime-CPU.

Usage: python3 bench/cpu_peers.py --model fixtures/mnist [--batches 1 64] [--iters N] [--json out.json]

--model is a fixture directory (saved_model/ plus heldout_images.npy) or a bare SavedModel
directory of the blog's MNIST CNN. It measures
  (a) TensorFlow: tf.saved_model.load and the serving signature called directly (a concrete
      function) and wrapped in a tf.function;
  (b) onnxruntime: the same network rebuilt with onnx.helper from the SavedModel's variables
      (NHWC input, Transpose to NCHW, Conv/Relu/MaxPool x2, Transpose back, Reshape, Gemm, Relu,
      Gemm, Softmax), checked against TensorFlow (max abs diff < 1e-4) before timing.
Per batch size: warm-up, then the median per-batch latency over --iters runs and samples/s.
Inputs are real held-out digits, tiled to the batch size.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

MAX_DIFF = 1e-4


def cpu_info():
    model = platform.processor() or platform.machine()
    physical = set()
    try:
        phys_id = None
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = (s.strip() for s in line.partition(":"))
            if key == "model name":
                model = val
            elif key == "physical id":
                phys_id = val
            elif key == "core id":
                physical.add((phys_id, val))
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {"cpu_model": model, "logical_cpus": os.cpu_count(), "usable_cpus": affinity,
            "physical_cores": len(physical) or None, "machine": platform.machine(),
            "os": f"{platform.system()} {platform.release()}"}


def find_paths(model_dir):
    model_dir = pathlib.Path(model_dir)
    sm = model_dir / "saved_model" if (model_dir / "saved_model" / "saved_model.pb").exists() else model_dir
    if not (sm / "saved_model.pb").exists():
        sys.exit(f"no saved_model.pb under {model_dir}")
    images = model_dir / "heldout_images.npy"
    labels = model_dir / "heldout_labels.npy"
    return sm, (images if images.exists() else None), (labels if labels.exists() else None)


def load_tf(sm_dir):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(sm_dir), tags=["serve"])
    sig = loaded.signatures["serving_default"]
    in_keys = list(sig.structured_input_signature[1].keys())
    out_keys = list(sig.structured_outputs.keys())
    if len(in_keys) != 1 or len(out_keys) != 1:
        sys.exit(f"expected one input and one output, got {in_keys} -> {out_keys}")
    return loaded, sig, in_keys[0], out_keys[0]


def mnist_weights(loaded):
    """The CNN's weights from the loaded SavedModel's variables: layers are grouped by variable
    name prefix (<layer>/kernel, <layer>/bias) and ordered by kernel shape (conv in-channels
    1 then 32; dense inputs 1568 then 1024)."""
    variables = list(getattr(loaded, "variables", []) or [])
    if not variables:
        sys.exit("the SavedModel exposes no variables (expected a Keras-written MNIST model)")
    layers = {}
    for v in variables:
        name = v.name.split(":")[0]
        prefix, _, leaf = name.rpartition("/")
        if leaf in ("kernel", "bias"):
            layers.setdefault(prefix, {})[leaf] = v.numpy()
    convs = sorted((l for l in layers.values() if l["kernel"].ndim == 4), key=lambda l: l["kernel"].shape[2])
    dense = sorted((l for l in layers.values() if l["kernel"].ndim == 2), key=lambda l: -l["kernel"].shape[0])
    shapes = [l["kernel"].shape for l in convs + dense]
    want = [(5, 5, 1, 32), (5, 5, 32, 32), (1568, 1024), (1024, 10)]
    if shapes != want or any("bias" not in l for l in convs + dense):
        sys.exit(f"unexpected MNIST variables: kernels {shapes}, want {want}")
    return convs, dense


def build_onnx(convs, dense):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=arr.dtype), name))
        return name

    nodes.append(helper.make_node("Transpose", ["input"], ["x_nchw"], perm=[0, 3, 1, 2]))
    x = "x_nchw"
    for i, c in enumerate(convs, 1):
        w = init(f"conv{i}_w", c["kernel"].transpose(3, 2, 0, 1).astype(np.float32))  # HWIO -> OIHW
        b = init(f"conv{i}_b", c["bias"].astype(np.float32))
        kh, kw = c["kernel"].shape[:2]
        pads = [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2]  # 'same', stride 1
        nodes += [
            helper.make_node("Conv", [x, w, b], [f"conv{i}"], kernel_shape=[kh, kw], pads=pads, strides=[1, 1]),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
            helper.make_node("MaxPool", [f"relu{i}"], [f"pool{i}"], kernel_shape=[2, 2], strides=[2, 2]),
        ]
        x = f"pool{i}"
    nodes.append(helper.make_node("Transpose", [x], ["pool_nhwc"], perm=[0, 2, 3, 1]))  # Keras flattens NHWC
    shape = init("flat_shape", np.array([-1, dense[0]["kernel"].shape[0]], dtype=np.int64))
    nodes.append(helper.make_node("Reshape", ["pool_nhwc", shape], ["flat"]))
    w1, b1 = init("fc1_w", dense[0]["kernel"].astype(np.float32)), init("fc1_b", dense[0]["bias"].astype(np.float32))
    w2, b2 = init("fc2_w", dense[1]["kernel"].astype(np.float32)), init("fc2_b", dense[1]["bias"].astype(np.float32))
    nodes += [
        helper.make_node("Gemm", ["flat", w1, b1], ["fc1"]),
        helper.make_node("Relu", ["fc1"], ["fc1_relu"]),
        helper.make_node("Gemm", ["fc1_relu", w2, b2], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "mnist_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 28, 28, 1])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="kiln-bench")
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model


def time_fn(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    samples.sort()
    q = lambda p: samples[min(len(samples) - 1, int(p * len(samples)))]  # noqa: E731
    return {"median_ms": statistics.median(samples), "p10_ms": q(0.10), "p90_ms": q(0.90),
            "min_ms": samples[0], "mean_ms": statistics.fmean(samples), "iters": iters, "warmup": warmup}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="fixtures/mnist", help="fixture dir or SavedModel dir")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--iters", type=int, default=200, help="timed runs per (runtime, batch)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0,
                    help="intra-op threads for both runtimes (0: each runtime's default)")
    ap.add_argument("--json", help="write results to this JSON file")
    args = ap.parse_args()

    import onnx
    import onnxruntime as ort
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)

    sm_dir, images_path, labels_path = find_paths(args.model)
    if images_path is not None:
        images = np.load(images_path).astype(np.float32)
    else:  # a bare SavedModel: seeded random images in [0,1]
        images = np.random.default_rng(0).uniform(0, 1, (64, 28, 28, 1)).astype(np.float32)
    labels = np.load(labels_path) if labels_path is not None else None

    loaded, sig, in_key, out_key = load_tf(sm_dir)

    def tf_signature(x):
        return sig(**{in_key: x})[out_key]

    tf_function = tf.function(lambda x: sig(**{in_key: x})[out_key])

    convs, dense = mnist_weights(loaded)
    onnx_model = build_onnx(convs, dense)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if args.threads:
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_model.SerializeToString(), so, providers=["CPUExecutionProvider"])

    # Check: onnxruntime vs TensorFlow (and both TF call paths) on every held-out digit.
    want = tf_signature(tf.constant(images)).numpy()
    via_fn = tf_function(tf.constant(images)).numpy()
    got = sess.run(["probabilities"], {"input": images})[0]
    diff = float(np.max(np.abs(got - want)))
    diff_fn = float(np.max(np.abs(via_fn - want)))
    print(f"check on {len(images)} digits: max |onnxruntime - TF| = {diff:.3g}, "
          f"max |tf.function - signature| = {diff_fn:.3g}")
    if diff >= MAX_DIFF or diff_fn >= MAX_DIFF:
        sys.exit(f"outputs disagree (limit {MAX_DIFF})")
    check = {"digits": int(len(images)), "max_abs_diff_onnxruntime_vs_tf": diff,
             "max_abs_diff_tffunction_vs_signature": diff_fn}
    if labels is not None:
        check["heldout_accuracy_tf"] = float(np.mean(np.argmax(want, 1) == labels))
        check["heldout_accuracy_onnxruntime"] = float(np.mean(np.argmax(got, 1) == labels))
        print(f"held-out accuracy: TF {check['heldout_accuracy_tf']:.4f}, "
              f"onnxruntime {check['heldout_accuracy_onnxruntime']:.4f}")

    results = []
    for batch in args.batches:
        x = np.ascontiguousarray(np.take(images, np.arange(batch) % len(images), axis=0))
        xt = tf.constant(x)
        runs = {
            ("tensorflow", "signature"): lambda: tf_signature(xt).numpy(),
            ("tensorflow", "tf.function"): lambda: tf_function(xt).numpy(),
            ("onnxruntime", "InferenceSession"): lambda: sess.run(["probabilities"], {"input": x})[0],
        }
        for (runtime, variant), fn in runs.items():
            r = time_fn(fn, args.iters, args.warmup)
            r.update(runtime=runtime, variant=variant, batch=batch,
                     samples_per_s=batch / (r["median_ms"] / 1e3))
            results.append(r)

    print(f"\n{'runtime':12s} {'variant':17s} {'batch':>5s} {'median ms':>10s} {'p10 ms':>8s} "
          f"{'p90 ms':>8s} {'samples/s':>10s}")
    for r in results:
        print(f"{r['runtime']:12s} {r['variant']:17s} {r['batch']:5d} {r['median_ms']:10.3f} "
              f"{r['p10_ms']:8.3f} {r['p90_ms']:8.3f} {r['samples_per_s']:10.1f}")

    if args.json:
        report = {
            "benchmark": "cpu_peers",
            "model": str(args.model),
            "device": cpu_info(),
            "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "tensorflow": tf.__version__, "onnx": onnx.__version__,
                         "onnxruntime": ort.__version__},
            "threads": {"requested": args.threads or "default",
                        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
                        "ort_intra_op": so.intra_op_num_threads},
            "check": check,
            "results": results,
        }
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
