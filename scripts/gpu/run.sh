#!/usr/bin/env bash
# On a GPU machine, from the repository root: unpacks a bundle made by scripts/gpu/pack.sh and runs
# kiln's GPU tests (what `ctest -L gpu` runs) and, with --bench, the GPU benchmarks.
# Usage: scripts/gpu/run.sh BUNDLE.tar.xz [--bench] [--out DIR]
set -uo pipefail
bundle=$(realpath "$1"); shift
bench=0; out=${OUT:-/tmp/kiln-gpu-out}
while (($#)); do
  case $1 in
    --bench) bench=1 ;;
    --out) out=$2; shift ;;
  esac
  shift
done
root=$(pwd)
k=$(mktemp -d)
tar -C "$k" -xJf "$bundle"
mkdir -p "$out"
# cuDNN and cuBLAS matching the headers kiln was built with, where PyTorch's wheels keep them.
for lib in /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn/lib /opt/torch/.venv/lib/python3*/site-packages/nvidia/cu13/lib; do
  [ -d "$lib" ] && export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH="$k/bin:${LD_LIBRARY_PATH:-}"
export KILN_FIXTURE_DIR="$k/fixtures" KILN_SOURCE_DIR="$root"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/device.txt"
status=0
step() { echo "== $*"; "$@" || status=1; }
step "$k/bin/kiln_gpu_tests" --gtest_brief=1
filter=$(grep -ohE "^TEST(_F|_P)?\((\w+)," tests/kernels/*_test.cc tests/passes/*_test.cc tests/frontends/onnx/onnx_conv_test.cc \
  | sed -E 's/TEST(_F|_P)?\(//; s/,//' | sort -u | awk '{printf "%s.*:*/%s.*:", $1, $1}')
KILN_TEST_DEVICE=cuda KILN_TEST_DEVICE_COVERAGE=1 step "$k/bin/kiln_tests" --gtest_brief=1 --gtest_filter="$filter" 2>&1 | tee "$out/ops_on_cuda.txt"
KILN_TEST_DEVICE=cuda step "$k/bin/kiln_tests" --gtest_brief=1 \
  --gtest_filter='SavedModels/FixtureModelTest.*:MnistFixtureTest.*:Torch/OnnxFixtureTest.*:OnnxDynamicShapeTest.*'
if [ -d "$k/onnx-node-tests" ]; then
  step "$k/bin/kiln_onnx_conformance" --device cuda --data "$k/onnx-node-tests" --report "$out/onnx_conformance_cuda.md"
fi
if ((bench)); then
  step "$k/bin/kiln" bench --dir fixtures/mnist/saved_model --device cuda --batch 1,512 --iters 200 \
    --json "$out/bench_mnist_cuda.json"
fi
exit $status
