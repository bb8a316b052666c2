#!/usr/bin/env bash
# kiln's CPU runtime beside TensorFlow-CPU and onnxruntime-CPU on the shipped MNIST model, batch 1
# and 64, on this machine. Writes JSON to bench/results/ (name: cpu_mnist_<date>_*.json).
# Needs a build (scripts/build.sh) and the Python packages of scripts/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
day="$(date -u +%Y-%m-%d)"
iters="${ITERS:-300}"
"$build/kiln" bench --dir fixtures/mnist/saved_model --input input_1=fixtures/mnist/heldout_images.npy \
  --batch 1,64 --iters "$iters" --json "bench/results/cpu_mnist_${day}_kiln.json"
python3 bench/cpu_peers.py --model fixtures/mnist --batches 1 64 --iters "$iters" \
  --json "bench/results/cpu_mnist_${day}_peers.json"
