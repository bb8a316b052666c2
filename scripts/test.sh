#!/usr/bin/env bash
# Sets everything up and runs kiln's whole test suite: install, build (the C++ library, CLI and
# tests, then the Python package), make fixtures, ctest, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
bash scripts/setup.sh
bash scripts/build.sh
bash scripts/install_python.sh
python3 scripts/make_fixtures.py --out "$build/fixtures"
python3 scripts/onnx_node_tests.py --out "$build/onnx-node-tests"
# GPU tests skip with a printed reason where there is no GPU.
(cd "$build" && ctest --output-on-failure -j "$(nproc)" --timeout 1200)
KILN_FIXTURE_DIR="$(cd "$build" && pwd)/fixtures" python3 -m pytest -q -rs python/tests
