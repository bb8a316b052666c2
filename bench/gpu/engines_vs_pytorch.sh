#!/usr/bin/env bash
# kiln's converted models (CUDA engines at FP32, FP16 and BF16) beside PyTorch on the same card, in
# one run: the TF-TRT blog's MNIST CNN (the shipped SavedModel) at batches 1 and 512, torchvision
# ResNet-50 at 1 and 128 and the BERT-base encoder at sequence 128, batches 1 and 32; PyTorch in
# every mode of the peer script (eager FP32, CUDA graphs, FP16). Engines are built for each batch
# at first use, during the warm-up runs. Last, convert plus build times at FP16, cold and with the
# timing cache.
# Run on the GPU machine from the repository root, with the kiln binaries on PATH (or KILN=...):
#   bash bench/gpu/engines_vs_pytorch.sh PYTORCH_PEERS.py OUT_DIR
# The ONNX files come from PYTORCH_PEERS.py's export (reused when OUT_DIR/models has them).
set -uo pipefail
peers=$(realpath "$1")
out=$(realpath -m "$2")
kiln=${KILN:-kiln}
iters=${ITERS:-50}
mkdir -p "$out/models"
if [ ! -f "$out/models/bert_base.onnx" ]; then
  env -u LD_LIBRARY_PATH python3 "$peers" export "$out/models" 2>&1 | grep -v Warning | tail -4
fi

bench() {  # bench NAME ARGS...: kiln bench on the GPU, results also in OUT/NAME.json
  local name=$1
  shift
  "$kiln" bench "$@" --device cuda --iters "$iters" --warmup 10 --json "$out/$name.json" | grep -v "^on the host"
}
convert() {  # convert SOURCE NAME PRECISION: CUDA engines, one per batch size
  "$kiln" convert --input "$1" --output "$out/$2" --backend cuda --precision "$3" --maximum-cached-engines 2 |
    head -1
}

for precision in fp32 fp16 bf16; do
  echo "== kiln, converted at $precision"
  convert fixtures/mnist/saved_model "mnist_$precision" "$precision"
  bench "kiln_mnist_$precision" --dir "$out/mnist_$precision" --batch 1,512
  convert "$out/models/resnet50.onnx" "resnet50_$precision" "$precision"
  bench "kiln_resnet50_$precision" --dir "$out/resnet50_$precision" --batch 1,128
  convert "$out/models/bert_base.onnx" "bert_$precision" "$precision"
  bench "kiln_bert_$precision" --dir "$out/bert_$precision" --batch 1,32 --dim seq=128
done

echo "== PyTorch (every mode of the peer script)"
for w in mnist resnet50 bert; do env -u LD_LIBRARY_PATH OUT="$out" python3 "$peers" "$w" | grep '"mode"'; done

# Convert plus build, the engines built by the convert itself at the benchmark batch: cold (an
# empty timing cache) and again with the cache the cold build filled.
echo "== convert plus build at fp16: cold, then with the timing cache"
cache=$(mktemp -d)
timed() {  # timed LABEL COMMAND...: the command's wall time in seconds
  local label=$1 start end
  shift
  start=$(date +%s.%N)
  if "$@" > "$out/convert.log" 2>&1; then
    end=$(date +%s.%N)
    printf '%-32s %6.2f s\n' "$label" "$(echo "$end - $start" | bc)"
  else
    echo "$label: failed"
    tail -3 "$out/convert.log"
  fi
}
for pass in cold cached; do
  timed "mnist b512 $pass" env KILN_CACHE_DIR="$cache" "$kiln" convert --input fixtures/mnist/saved_model \
    --output "$out/build_mnist_$pass" --backend cuda --precision fp16 --build-input input_1=512x28x28x1
  timed "resnet50 b128 $pass" env KILN_CACHE_DIR="$cache" "$kiln" convert --input "$out/models/resnet50.onnx" \
    --output "$out/build_resnet50_$pass" --backend cuda --precision fp16 --build-input input=128x3x224x224
done
rm -rf "$cache"
