#!/usr/bin/env bash
# Sets everything up and runs kiln's whole test suite: install, build, make fixtures, ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
bash scripts/setup.sh
bash scripts/build.sh
python3 scripts/make_fixtures.py --out "$build/fixtures"
python3 scripts/onnx_node_tests.py --out "$build/onnx-node-tests"
cd "$build"
# GPU tests skip with a printed reason where there is no GPU.
ctest --output-on-failure -j "$(nproc)" --timeout 1200
