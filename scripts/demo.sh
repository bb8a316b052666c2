#!/usr/bin/env bash
# Sets everything up and runs kiln's main job on the MNIST SavedModel that ships in fixtures/mnist:
# inspect it, convert it in every precision, summarize and run each converted model on the
# held-out digits with its accuracy, then time it.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
KILN_SKIP_PYTHON="${KILN_SKIP_PYTHON:-1}" bash scripts/setup.sh
bash scripts/build.sh
kiln="$build/kiln"
model=fixtures/mnist/saved_model
out="$build/mnist_outputs.npz"

# The GPU when kiln can use one (built with CUDA, a driver and a GPU present), else the CPU.
device=cpu
if "$kiln" bench --dir "$model" --device cuda --batch 1 --iters 1 --warmup 0 > /dev/null 2>&1; then device=cuda; fi

set -x
# The model as TensorFlow's saved_model_cli shows it, and its native accuracy.
"$kiln" show --dir "$model" --tag_set serve --signature_def serving_default
"$kiln" run --dir "$model" --device "$device" --input input_1=fixtures/mnist/heldout_images.npy \
  --labels fixtures/mnist/heldout_labels.npy --output "$out"

# Convert in each precision (INT8 and FP8 calibrate on 128 training digits), build engines for
# batches 360, 64 and 1 ahead of time, then summarize and run each converted model.
for precision in fp32 fp16 bf16 int8 fp8; do
  converted="$build/mnist_$precision"
  calibration=()
  if [[ $precision == int8 || $precision == fp8 ]]; then
    calibration=(--calibration-data fixtures/mnist/calibration.npz)
  fi
  "$kiln" convert --input "$model" --output "$converted" --backend "$device" --precision "$precision" \
    "${calibration[@]}" \
    --maximum-cached-engines 3 --build-input input_1=360x28x28x1 --build-input input_1=64x28x28x1 \
    --build-input input_1=1x28x28x1
  "$kiln" summary --dir "$converted"
  "$kiln" run --dir "$converted" --device "$device" --input input_1=fixtures/mnist/heldout_images.npy \
    --labels fixtures/mnist/heldout_labels.npy
done

# Native and converted (FP32 and FP16 engines) latency on this machine's GPU, or its CPU.
for dir in "$model" "$build/mnist_fp32" "$build/mnist_fp16"; do
  "$kiln" bench --dir "$dir" --device "$device" --input input_1=fixtures/mnist/heldout_images.npy --batch 1,64 \
    --iters 100
done
