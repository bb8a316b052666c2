#!/usr/bin/env bash
# The CPU test suite under sanitizers: a clang build of kiln and its tests (scripts/sanitizer_build.sh)
# with -fsanitize=address,undefined (LeakSanitizer included), run by ctest on the fixtures of the
# main build (make them first: scripts/test.sh does). Any report fails the run.
# Usage: scripts/sanitize.sh [SANITIZERS [TESTS]]   (default address,undefined; "thread" for
# ThreadSanitizer). TESTS, a ctest regex, builds only the test binary and runs the tests it names.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="${1:-address,undefined}"
tests="${2:-}"
build="$(bash scripts/sanitizer_build.sh "$sanitizers" ${tests:+kiln_tests})"
fixtures="$(pwd)/${KILN_BUILD_DIR:-build}/fixtures"
# The generated test data of the main build, where the tests look for it.
ln -sfn "$fixtures" "$build/fixtures"
ln -sfn "$(pwd)/${KILN_BUILD_DIR:-build}/onnx-node-tests" "$build/onnx-node-tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1
# The 2.25 GiB model of LargeModelTest is several minutes and 12 GiB here; the main suite runs it.
export KILN_SKIP_LARGE_MODEL_TEST=1
(cd "$build" && KILN_FIXTURE_DIR="$fixtures" ctest --output-on-failure -j "$(nproc)" --timeout 2400 -LE gpu \
  ${tests:+-R "$tests"})
