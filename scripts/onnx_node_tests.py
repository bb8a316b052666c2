#!/usr/bin/env python3
"""Writes the ONNX backend node tests that ship in the onnx package as test data.

The cases live in onnx.backend.test.case.node; each becomes OUT/node/<test name>/model.onnx
with test_data_set_<k>/input_<i>.pb and output_<i>.pb (TensorProtos), the layout the ONNX
backend test runner reads. Cases whose inputs or outputs are sequences, maps or optionals are
left out (kiln runs tensors only) and counted. Usage: onnx_node_tests.py --out DIR
"""
import argparse
import pathlib
import shutil
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_cases


def is_tensor(value_info):
    return value_info.type.HasField("tensor_type")


def to_proto(value, name):
    if isinstance(value, onnx.TensorProto):
        return value
    return numpy_helper.from_array(np.asarray(value), name)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = pathlib.Path(args.out) / "node"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_cases.collect_testcases(None)
    written = skipped = 0
    for case in cases:
        graph = case.model.graph
        if not all(is_tensor(v) for v in list(graph.input) + list(graph.output)):
            skipped += 1
            continue
        d = out / case.name
        d.mkdir()
        (d / "model.onnx").write_bytes(case.model.SerializeToString())
        for k, (inputs, outputs) in enumerate(case.data_sets):
            ds = d / f"test_data_set_{k}"
            ds.mkdir()
            for i, value in enumerate(inputs):
                (ds / f"input_{i}.pb").write_bytes(to_proto(value, graph.input[i].name).SerializeToString())
            for i, value in enumerate(outputs):
                (ds / f"output_{i}.pb").write_bytes(to_proto(value, graph.output[i].name).SerializeToString())
        written += 1
    summary = (f"onnx {onnx.__version__} (opset {onnx.defs.onnx_opset_version()}): {written} node tests "
               f"({skipped} with sequence/map/optional values left out)")
    (out.parent / "info.txt").write_text(summary + "\n")
    print(f"{summary} written to {out}")


if __name__ == "__main__":
    main()
