#!/usr/bin/env bash
# kiln's INT8 and FP8 engines beside its FP16 engine on the same card: torchvision ResNet-50 at
# batches 128 and 1 and the BERT-base encoder at sequence 128, batches 32 and 1 (the issue's
# targets: ResNet-50 INT8/FP8 at 48k images/s or more at batch 128 and below FP16's latency at
# batch 1; BERT FP8 at 1.3x FP16 or more). Calibration runs on the exported sample inputs, which is
# enough for speed; accuracy on real data is the test suite's (MNIST, MiniLM sentence embeddings).
# Run on the GPU machine from the repository root, with the kiln binaries on PATH (or KILN=...):
#   bash bench/gpu/quantized_vs_fp16.sh PYTORCH_PEERS.py OUT_DIR
set -uo pipefail
peers=$(realpath "$1")
out=$(realpath -m "$2")
kiln=${KILN:-kiln}
iters=${ITERS:-50}
mkdir -p "$out/models"
if [ ! -f "$out/models/bert_base.onnx" ]; then
  env -u LD_LIBRARY_PATH python3 "$peers" export "$out/models" 2>&1 | grep -v Warning | tail -4
fi
for m in resnet50 bert_base; do  # the exported sample inputs as calibration data
  env -u LD_LIBRARY_PATH python3 -c "import numpy as np, sys; np.savez(sys.argv[2], input=np.load(sys.argv[1]))" \
    "$out/models/${m}_input.npy" "$out/models/${m}_calibration.npz"
done

for precision in fp16 int8 fp8; do
  echo "== kiln, converted at $precision"
  "$kiln" convert --input "$out/models/resnet50.onnx" --output "$out/resnet50_$precision" --backend cuda \
    --precision "$precision" --maximum-cached-engines 2 --calibration-data "$out/models/resnet50_calibration.npz" \
    --calibration-batch-size 8 | grep -E "^converted|note: .*(layer|smooth)"
  "$kiln" bench --dir "$out/resnet50_$precision" --batch 128,1 --device cuda --iters "$iters" --warmup 10 \
    --json "$out/kiln_resnet50_$precision.json" | grep -v "^on the host"
  "$kiln" convert --input "$out/models/bert_base.onnx" --output "$out/bert_$precision" --backend cuda \
    --precision "$precision" --maximum-cached-engines 2 --calibration-data "$out/models/bert_base_calibration.npz" \
    --calibration-batch-size 8 | grep -E "^converted|note: .*(layer|smooth)"
  "$kiln" bench --dir "$out/bert_$precision" --batch 32,1 --dim seq=128 --device cuda --iters "$iters" --warmup 10 \
    --json "$out/kiln_bert_$precision.json" | grep -v "^on the host"
done
