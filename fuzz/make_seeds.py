#!/usr/bin/env python3
"""Seed corpora for kiln's fuzz targets, made from the test fixtures (scripts/make_fixtures.py), ONNX's
node tests (scripts/onnx_node_tests.py) and models converted by the kiln CLI: one directory per target under --out.

Targets that read several files take them joined by SECTION_BREAK (fuzz/fuzz_util.h)."""
import argparse
import io
import json
import pathlib
import shutil
import struct
import subprocess
import tempfile

import numpy as np

SECTION_BREAK = b"\n=kiln-fuzz-section=\n"
MAX_SEED_BYTES = 1 << 18  # larger models make slow seeds


def write(out: pathlib.Path, target: str, name: str, data: bytes):
    if len(data) > MAX_SEED_BYTES:
        return
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def joined(*parts: bytes) -> bytes:
    return SECTION_BREAK.join(parts)


def saved_models(fixtures: pathlib.Path, out: pathlib.Path):
    for pb in sorted(fixtures.glob("*/saved_model/saved_model.pb")):
        name = pb.parent.parent.name
        variables = pb.parent / "variables"
        index = variables / "variables.index"
        shards = sorted(variables.glob("variables.data-*"))
        if index.exists() and len(shards) == 1:
            write(out, "savedmodel_fuzz", name, joined(pb.read_bytes(), index.read_bytes(), shards[0].read_bytes()))
            write(out, "tensor_bundle_fuzz", name, joined(index.read_bytes(), shards[0].read_bytes()))
        else:
            write(out, "savedmodel_fuzz", name, pb.read_bytes())
    for bundle in sorted((fixtures / "bundles").glob("*/variables")):
        index = bundle / "variables.index"
        if not index.exists():
            continue
        shards = sorted(bundle.glob("variables.data-*"))
        write(out, "tensor_bundle_fuzz", "bundle_" + bundle.parent.name,
              joined(index.read_bytes(), *[s.read_bytes() for s in shards]))


def onnx_models(fixtures: pathlib.Path, node_tests: pathlib.Path, out: pathlib.Path):
    for model in sorted(fixtures.glob("*/*.onnx")):
        parts = [model.read_bytes()] + [w.read_bytes() for w in sorted(model.parent.glob("weights*.bin"))]
        write(out, "onnx_fuzz", model.parent.name, joined(*parts))
    # ONNX's backend node tests: one small model per op and variant.
    for model in sorted(node_tests.glob("node/*/model.onnx")) if node_tests else []:
        write(out, "onnx_fuzz", model.parent.name, model.read_bytes())


def arrays(fixtures: pathlib.Path, out: pathlib.Path):
    samples = {
        "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
        "f16": np.ones((2, 2), np.float16),
        "i64": np.array([-1, 0, 7], np.int64),
        "u8": np.arange(5, dtype=np.uint8),
        "bool": np.array([[True, False]]),
        "scalar": np.float64(2.5),
        "empty": np.zeros((0, 3), np.int32),
        "fortran": np.asfortranarray(np.ones((2, 3), np.float32)),
        "big_endian": np.arange(4, dtype=">i4"),
    }
    for name, a in samples.items():
        b = io.BytesIO()
        np.save(b, a)
        write(out, "npy_fuzz", name, b.getvalue())
    for compress in (np.savez, np.savez_compressed):
        b = io.BytesIO()
        compress(b, **{k: v for k, v in samples.items() if k != "big_endian"})
        write(out, "npz_fuzz", compress.__name__, b.getvalue())
    for npz in sorted(fixtures.glob("*/*.npz"))[:20]:
        write(out, "npz_fuzz", npz.parent.name + "_" + npz.stem, npz.read_bytes())


def engine_parts(engine: bytes):
    """An engine file's header JSON and payload (engine/engine_file.h)."""
    header_len = struct.unpack_from("<Q", engine, 12)[0]
    payload_len = struct.unpack_from("<Q", engine, 20 + header_len)[0]
    header = engine[20:20 + header_len]
    payload = engine[28 + header_len:28 + header_len + payload_len]
    return header, payload


def converted(fixtures: pathlib.Path, kiln: str, out: pathlib.Path):
    """Converted models: their engine files, calibration table, conversion record and saved_model.pb."""
    jobs = [
        ("layers_conv_keras3", "saved_model", ["--precision", "int8", "--build-input", "img=2x6x6x3", "seq=2x20x4"]),
        ("layers_activations_keras3", "saved_model", ["--precision", "fp32", "--build-input", "x=3x24"]),
        ("onnx_small_cnn", "model.onnx", ["--precision", "fp32", "--dynamic-shape"]),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for fixture, model, flags in jobs:
            src = fixtures / fixture
            if not (src / model).exists():
                continue
            dst = pathlib.Path(tmp) / fixture
            cmd = [kiln, "convert", "--input", str(src / model), "--output", str(dst), "--backend", "cpu"] + flags
            if "int8" in flags:
                cmd += ["--calibration-data", str(src / "inputs.npz")]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            assets = dst / "assets" / "kiln"
            for engine in sorted((assets / "engines").glob("*.engine")):
                data = engine.read_bytes()
                write(out, "engine_file_fuzz", f"{fixture}_{engine.stem}_file", data)
                header, payload = engine_parts(data)
                if payload.startswith(b"KILNWTS1"):  # header | graph | weights: the graph mutates as a message
                    graph_len = struct.unpack_from("<Q", payload, 8)[0]
                    write(out, "engine_file_fuzz", f"{fixture}_{engine.stem}",
                          joined(header, payload[16:16 + graph_len], payload[16 + graph_len:]))
                else:
                    write(out, "engine_file_fuzz", f"{fixture}_{engine.stem}", joined(header, payload))
            for name, target in (("calibration.json", "calibration_table_fuzz"),
                                 ("conversion.json", "conversion_record_fuzz")):
                if (assets / name).exists():
                    write(out, target, fixture, (assets / name).read_bytes())
            write(out, "savedmodel_fuzz", "converted_" + fixture, (dst / "saved_model.pb").read_bytes())
    table = {"format": "kiln-calibration", "version": 1, "calibrator": "entropy",
             "tensors": {"a:0": {"amax": 1.5},
                         "b:0": {"amax": 9.5, "smoothing": {"alpha": 0.7, "channel_amax": [0.7, 9.5, 2.0]}}}}
    write(out, "calibration_table_fuzz", "smoothing", json.dumps(table).encode())


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fixtures", required=True, type=pathlib.Path)
    p.add_argument("--onnx-node-tests", type=pathlib.Path, help="scripts/onnx_node_tests.py's output")
    p.add_argument("--kiln", required=True, help="the kiln CLI, to convert models")
    p.add_argument("--out", required=True, type=pathlib.Path)
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    saved_models(args.fixtures, args.out)
    onnx_models(args.fixtures, args.onnx_node_tests, args.out)
    arrays(args.fixtures, args.out)
    converted(args.fixtures, args.kiln, args.out)
    for d in sorted(args.out.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
