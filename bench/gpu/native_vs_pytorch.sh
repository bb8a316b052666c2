#!/usr/bin/env bash
# kiln's native GPU runtime beside PyTorch eager on the same card, in one run: the TF-TRT blog's
# MNIST CNN (the shipped SavedModel) at batch 512, torchvision ResNet-50 at batch 128 and the
# BERT-base encoder at sequence 128, batch 32, FP32 with TF32 off on both sides.
# Run on the GPU machine from the repository root, with the kiln binaries on PATH (or KILN=...):
#   bash bench/gpu/native_vs_pytorch.sh PYTORCH_PEERS.py OUT_DIR
# PYTORCH_PEERS.py is the peer script (pytorch_peers.py) that exports ResNet-50 and BERT-base as
# ONNX files with dynamic batch and times them in PyTorch; results land in OUT_DIR.
set -uo pipefail
peers=$(realpath "$1")
out=$(realpath -m "$2")
kiln=${KILN:-kiln}
iters=${ITERS:-50}
profile=${PROFILE:+--profile}  # PROFILE=1: also print where one run's time goes, by op type
mkdir -p "$out/models"
# The ONNX files, a sample input and PyTorch's output for it (no cuDNN override: PyTorch's own).
env -u LD_LIBRARY_PATH python3 "$peers" export "$out/models" 2>&1 | grep -v Warning | tail -4

echo "== correctness of the exported models on the GPU (kiln vs PyTorch on the sample input)"
for m in resnet50 bert_base; do
  "$kiln" run --model "$out/models/$m.onnx" --device cuda --input "input=$out/models/${m}_input.npy" \
    --output "$out/${m}_kiln.npz" > /dev/null &&
    env -u LD_LIBRARY_PATH python3 -c "
import numpy as np, sys
got = np.load('$out/${m}_kiln.npz')['output']; want = np.load('$out/models/${m}_output.npy')
print('$m', 'max |kiln - pytorch| =', float(np.abs(got - want).max()), 'max |pytorch| =', float(np.abs(want).max()))"
done

echo "== kiln (native CUDA runtime, FP32, TF32 off)"
"$kiln" bench --dir fixtures/mnist/saved_model --device cuda --batch 512 --iters "$iters" --warmup 10 \
  --json "$out/kiln_mnist.json" $profile
"$kiln" bench --model "$out/models/resnet50.onnx" --device cuda --batch 128 --iters "$iters" --warmup 10 \
  --json "$out/kiln_resnet50.json" $profile
"$kiln" bench --model "$out/models/bert_base.onnx" --device cuda --batch 1,32 --dim seq=128 --iters "$iters" \
  --warmup 10 --json "$out/kiln_bert.json" $profile

echo "== PyTorch eager (FP32, TF32 off)"
sed -E 's/\["fp32", "fp(32-graph|16)[^]]*\]/["fp32"]/' "$peers" > "$out/peers_fp32.py"
for w in mnist resnet50 bert; do env -u LD_LIBRARY_PATH OUT="$out" python3 "$out/peers_fp32.py" "$w" | grep '"mode"'; done
