#!/usr/bin/env bash
# One command for the ONNX conformance report: sets up, builds, writes the ONNX backend node
# tests from the installed onnx package, runs them on kiln and writes the per-op report to
# docs/onnx_conformance.md (exit 1 if any op kiln claims gives a wrong answer).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
bash scripts/setup.sh
bash scripts/build.sh
python3 scripts/onnx_node_tests.py --out "$build/onnx-node-tests"
"$build/kiln_onnx_conformance" --data "$build/onnx-node-tests" --report docs/onnx_conformance.md "$@"
