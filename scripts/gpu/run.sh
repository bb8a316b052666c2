#!/usr/bin/env bash
# On a GPU machine, from the repository root: unpacks a bundle made by scripts/gpu/pack.sh and runs
# what `ctest -L gpu` runs (the runtime's GPU tests, the op tests and fixtures on the GPU, the ONNX
# node tests on the GPU) and, with --bench, bench/gpu/native_vs_pytorch.sh and
# bench/gpu/engines_vs_pytorch.sh beside PyTorch.
# Usage: scripts/gpu/run.sh BUNDLE.tar.xz OUT_DIR [--bench PYTORCH_PEERS.py]
# With COMPUTE_SANITIZER=memcheck (or racecheck, initcheck, synccheck) every test program runs under
# that compute-sanitizer tool, and any report it makes fails the run; CHECKS="gpu_tests ops_on_cuda"
# runs only the checks named (gpu_tests, ops_on_cuda, fixtures_on_cuda, onnx_conformance_cuda).
set -uo pipefail
bundle=$(realpath "$1")
out=$(realpath -m "$2")
peers=${4:+$(realpath "$4")}
k=$(mktemp -d)
tar -C "$k" -xJf "$bundle"
mkdir -p "$out"
# cuDNN and cuBLAS matching the headers kiln was built with, where PyTorch's wheels keep them.
for lib in /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn/lib \
           /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib; do
  [ -d "$lib" ] && export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH="$k/bin:${LD_LIBRARY_PATH:-}" PATH="$k/bin:$PATH:/usr/local/cuda/bin"
export KILN_FIXTURE_DIR="$k/fixtures" KILN_SOURCE_DIR=$(pwd)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
status=0
tool=()
if [ -n "${COMPUTE_SANITIZER:-}" ]; then
  # API errors are left out: tests that provoke them (running out of device memory) expect them.
  tool=(compute-sanitizer --tool "$COMPUTE_SANITIZER" --error-exitcode 99 --report-api-errors no)
  echo "$(compute-sanitizer --version | tail -1); every test program runs under ${tool[*]}"
fi
check() {  # check NAME COMMAND...: runs it, its output to OUT/NAME.txt, and prints the verdict lines
  local name=$1; shift
  [[ -z "${CHECKS:-}" || " $CHECKS " == *" $name "* ]] || return 0
  "${tool[@]}" "$@" > "$out/$name.txt" 2>&1 || status=1
  echo "== $name"; grep -E "FAILED|PASSED|differs|never compared|onnx node tests|ERROR SUMMARY" "$out/$name.txt" |
    head -40
}
check gpu_tests kiln_gpu_tests --gtest_brief=1
filter=$(grep -ohE "^TEST(_F|_P)?\((\w+)," tests/kernels/*_test.cc tests/passes/*_test.cc \
           tests/frontends/onnx/onnx_conv_test.cc | sed -E 's/TEST(_F|_P)?\(//; s/,//' | sort -u |
         awk '{printf "%s.*:*/%s.*:", $1, $1}')
# Fixtures the bundle left out (pack.sh's SKIP_FIXTURES, to keep it small) are not run here.
skipped=""
for name in $(grep -ohE '"onnx_[a-z0-9_]+"' tests/*/*_test.cc tests/*/*/*_test.cc | tr -d '"' | sort -u); do
  [ -d "$k/fixtures/$name" ] || skipped="$skipped:*$name*"
done
[ -n "$skipped" ] && echo "fixtures left out of the bundle, not run:$(echo "$skipped" | tr -d '*' | tr ':' ' ')"
KILN_TEST_DEVICE=cuda KILN_TEST_DEVICE_COVERAGE=1 check ops_on_cuda kiln_tests --gtest_brief=1 \
  --gtest_filter="$filter${skipped:+-${skipped#:}}"
KILN_TEST_DEVICE=cuda check fixtures_on_cuda kiln_tests --gtest_brief=1 \
  --gtest_filter="SavedModels/FixtureModelTest.*:MnistFixtureTest.*:Torch/OnnxFixtureTest.*:OnnxDynamicShapeTest.*:Fixtures/FixtureSweepTest.*${skipped:+-${skipped#:}}"
if [ -d "$k/onnx-node-tests" ]; then
  check onnx_conformance_cuda kiln_onnx_conformance --device cuda --data "$k/onnx-node-tests" \
    --report "$out/onnx_conformance_cuda.md"
fi
if [ -n "$peers" ]; then
  PROFILE=1 KILN=kiln bash bench/gpu/native_vs_pytorch.sh "$peers" "$out/bench" 2>&1 | tee "$out/bench.txt" |
    grep -v "^on the host"
  KILN=kiln bash bench/gpu/engines_vs_pytorch.sh "$peers" "$out/bench" 2>&1 | tee "$out/engines.txt"
fi
exit $status
