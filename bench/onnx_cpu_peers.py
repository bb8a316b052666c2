#!/usr/bin/env python3
"""kiln's CPU runtime beside onnxruntime-CPU on the PyTorch-exported ONNX fixtures.

Usage: python3 bench/onnx_cpu_peers.py --fixtures build/fixtures [--models onnx_resnet18 ...]
           [--batches 1 8] [--iters N] [--kiln build/kiln] [--json out.json]

For each model and batch size the fixture's inputs.npz is tiled along axis 0 to the batch
(sequence models keep the fixture's sequence length); kiln is timed by `kiln bench` on those
arrays, onnxruntime (CPUExecutionProvider, all optimizations, as many intra-op threads as usable
CPUs) by calling InferenceSession.run. Both report the median latency over --iters runs after
warm-up. kiln's outputs are checked against onnxruntime's first (the fixture's atol/rtol).
"""
import argparse
import datetime
import json
import os
import pathlib
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort

DEFAULT_MODELS = ["onnx_resnet18", "onnx_mobilenet_v2", "onnx_efficientnet_b0", "onnx_bert_encoder",
                  "onnx_gpt_decoder"]


def tile(inputs, batch):
    out = {}
    for k, v in inputs.items():
        reps = -(-batch // v.shape[0])
        out[k] = np.concatenate([v] * reps, axis=0)[:batch]
    return out


def time_ort(sess, feed, iters, warmup):
    for _ in range(warmup):
        sess.run(None, feed)
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(None, feed)
        ms.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(ms))


def time_kiln(kiln, model, feed, batch, iters, warmup, tmp):
    args = [kiln, "bench", "--model", str(model), "--batch", str(batch), "--iters", str(iters),
            "--warmup", str(warmup), "--json", str(tmp / "kiln.json")]
    for k, v in feed.items():
        path = tmp / f"{k}.npy"
        np.save(path, v)
        args += ["--input", f"{k}={path}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return json.loads((tmp / "kiln.json").read_text())["results"][0]["median_ms"]


def check_kiln(kiln, model, feed, want, atol, rtol, tmp):
    np.savez(tmp / "in.npz", **feed)
    subprocess.run([kiln, "run", "--model", str(model), "--input_npz", str(tmp / "in.npz"), "--output",
                    str(tmp / "out.npz")], check=True, stdout=subprocess.DEVNULL)
    got = np.load(tmp / "out.npz")
    for name, w in want.items():
        if not np.allclose(got[name], w, atol=atol, rtol=rtol):
            raise SystemExit(f"{model}: kiln's '{name}' differs from onnxruntime's "
                             f"(max abs diff {np.abs(got[name] - w).max()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default="build/fixtures")
    ap.add_argument("--models", nargs="*", default=DEFAULT_MODELS)
    ap.add_argument("--batches", nargs="*", type=int, default=[1, 8])
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--kiln", default="build/kiln")
    ap.add_argument("--json")
    args = ap.parse_args()

    threads = len(os.sched_getaffinity(0))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    rows = []
    print(f"{'model':24s} {'batch':>5s} {'kiln ms':>10s} {'onnxruntime ms':>15s} {'kiln/ort':>9s}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = pathlib.Path(tmpdir)
        for name in args.models:
            d = pathlib.Path(args.fixtures) / name
            meta = json.loads((d / "meta.json").read_text())
            with np.load(d / "inputs.npz") as f:
                base = {k: f[k] for k in f.files}
            sess = ort.InferenceSession(str(d / "model.onnx"), opts, providers=["CPUExecutionProvider"])
            out_names = [o.name for o in sess.get_outputs()]
            for batch in args.batches:
                feed = tile(base, batch)
                want = dict(zip(out_names, sess.run(None, feed)))
                check_kiln(args.kiln, d / "model.onnx", feed, want, meta["atol"], meta["rtol"], tmp)
                ort_ms = time_ort(sess, feed, args.iters, args.warmup)
                kiln_ms = time_kiln(args.kiln, d / "model.onnx", feed, batch, args.iters, args.warmup, tmp)
                shapes = {k: list(v.shape) for k, v in feed.items()}
                rows.append({"model": name, "batch": batch, "inputs": shapes, "kiln_median_ms": kiln_ms,
                             "onnxruntime_median_ms": ort_ms})
                print(f"{name:24s} {batch:5d} {kiln_ms:10.3f} {ort_ms:15.3f} {kiln_ms / ort_ms:9.2f}", flush=True)
    if args.json:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        doc = {"date": datetime.date.today().isoformat(), "device": cpu, "threads": threads,
               "onnxruntime": ort.__version__, "iters": args.iters,
               "command": "python3 bench/onnx_cpu_peers.py " + " ".join(
                   f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()
                   if k != "json"),
               "results": rows}
        pathlib.Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
