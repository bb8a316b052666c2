#!/usr/bin/env bash
# Native op-by-op runtime against converted models (CPU backend engines) on this machine: the
# shipped MNIST model and, when the test fixtures exist, ResNet-18 and MobileNet v2 from ONNX.
# FP32 engines show what the engine passes (fusion, folding, memory plan) buy on the CPU; FP16
# engines emulate fp16 rounding exactly and are slower by design (the CPU has no fp16 math).
# Writes JSON to bench/results/ (name: cpu_converter_<date>_<model>_<variant>.json).
# Needs a build (scripts/build.sh); the ONNX models need the fixtures (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
kiln="$build/kiln"
day="$(date -u +%Y-%m-%d)"
iters="${ITERS:-100}"
work="$build/bench_converter"
mkdir -p "$work"

bench_model() {  # name source input-args bench-args build-shapes...
  local name=$1 source=$2 inputs=$3 batches=$4
  shift 4
  local builds=()
  for shape in "$@"; do builds+=(--build-input "$shape"); done
  echo "== $name: native"
  "$kiln" bench --dir "$source" $inputs --batch "$batches" --iters "$iters" \
    --json "bench/results/cpu_converter_${day}_${name}_native.json"
  for precision in fp32 fp16; do
    "$kiln" convert --input "$source" --output "$work/${name}_$precision" --precision "$precision" \
      --maximum-cached-engines 4 "${builds[@]}" > /dev/null
    echo "== $name: converted $precision"
    "$kiln" bench --dir "$work/${name}_$precision" $inputs --batch "$batches" --iters "$iters" \
      --json "bench/results/cpu_converter_${day}_${name}_$precision.json"
  done
}

bench_model mnist fixtures/mnist/saved_model "--input input_1=fixtures/mnist/heldout_images.npy" 1,64 \
  input_1=1x28x28x1 input_1=64x28x28x1
for model in onnx_resnet18 onnx_mobilenet_v2; do
  onnx="$build/fixtures/$model/model.onnx"
  [[ -f $onnx ]] || continue
  # "name=1x3x64x64 name=8x3x64x64": the first input's shape at batch 1 and 8.
  shapes=$(python3 -c "
import onnx
i = onnx.load('$onnx', load_external_data=False).graph.input[0]
dims = [d.dim_value for d in i.type.tensor_type.shape.dim][1:]
print(' '.join(i.name + '=' + 'x'.join(map(str, [b] + dims)) for b in (1, 8)))")
  bench_model "$model" "$onnx" "" 1,8 $shapes
done
