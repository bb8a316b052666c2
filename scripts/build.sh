#!/usr/bin/env bash
# Configures and builds kiln into ${KILN_BUILD_DIR:-build}. CUDA code is built when nvcc is found.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release ${KILN_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
