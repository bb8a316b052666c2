#!/usr/bin/env bash
# Builds and installs the Python package (pip install .) into the CMake tree ${KILN_BUILD_DIR:-build},
# so the extension links the libkiln already built there instead of compiling it again.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
export PATH="/usr/local/cuda/bin:$PATH"
args=(-Cbuild-dir="$build" -Ccmake.define.KILN_TESTS=ON -Ccmake.define.KILN_TOOLS=ON)
if [[ -n "${KILN_CMAKE_ARGS:-}" ]]; then
  args+=(-Ccmake.args="$(echo "$KILN_CMAKE_ARGS" | tr ' ' ';')")
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-build-isolation . "${args[@]}"
