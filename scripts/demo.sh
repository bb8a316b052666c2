#!/usr/bin/env bash
# Sets everything up and runs kiln's main job on the MNIST SavedModel that ships in fixtures/mnist:
# inspect it, run it on the held-out digits and report accuracy, then time it.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${KILN_BUILD_DIR:-build}"
KILN_SKIP_PYTHON="${KILN_SKIP_PYTHON:-1}" bash scripts/setup.sh
bash scripts/build.sh
kiln="$build/kiln"
model=fixtures/mnist/saved_model
out="$build/mnist_outputs.npz"

set -x
"$kiln" show --dir "$model"
"$kiln" show --dir "$model" --tag_set serve --signature_def serving_default
"$kiln" run --dir "$model" --input input_1=fixtures/mnist/heldout_images.npy \
  --labels fixtures/mnist/heldout_labels.npy --output "$out"
"$kiln" bench --dir "$model" --input input_1=fixtures/mnist/heldout_images.npy --batch 1,64 --iters 100
