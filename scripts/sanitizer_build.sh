#!/usr/bin/env bash
# A clang build of kiln (CPU only) under sanitizers, in build-<sanitizers>/ (e.g.
# build-address-undefined/), at -O1 with line tables: fast to build, with stack traces that name
# lines. The AddressSanitizer build is also instrumented for libFuzzer and holds the fuzz targets of
# fuzz/, so that the sanitized test suite (scripts/sanitize.sh) and the fuzzers (scripts/fuzz.sh)
# share one build. Build output goes to stderr; the build directory is printed on stdout.
# Usage: scripts/sanitizer_build.sh SANITIZERS [TARGET...]   (no TARGET: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="$1"
shift
if ! command -v clang++ >/dev/null 2>&1 || ! compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends clang libclang-rt-dev; } >&2
fi
build="build-${sanitizers//,/-}"
instrument="$sanitizers"
fuzz=OFF
if [[ ",$sanitizers," == *,address,* ]]; then
  instrument+=",fuzzer-no-link"
  fuzz=ON
fi
flags="-O1 -g1 -DNDEBUG"
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
  -DKILN_CUDA=OFF -DKILN_PYTHON=OFF -DKILN_FUZZ="$fuzz" -DKILN_SANITIZE="$instrument" >&2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}" >&2
echo "$build"
