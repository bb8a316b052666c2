#!/usr/bin/env bash
# Packs a CUDA build of kiln for a GPU machine that has the CUDA driver, cuDNN and cuBLAS but not
# kiln's other libraries: the executables, libkiln and the shared libraries they need beyond the C
# runtime and CUDA's (stripped), the test fixtures and the ONNX node tests, as one .tar.xz.
# Usage: scripts/gpu/pack.sh BUILD_DIR OUT.tar.xz [SKIP_REGEX]   (then scripts/gpu/run.sh there)
# Fixtures whose names match SKIP_REGEX are left out (the GPU machine takes 64 MiB of files).
set -euo pipefail
build=$(realpath "$1")
out=$(realpath -m "$2")
skip_fixtures=${3:-'^$'}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
skip='^(linux-vdso|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|ld-linux|libgcc_s|libstdc\+\+|libcuda\.so|libcudart|libcudnn|libcublas|libnvrtc|libnvJitLink)'
for exe in kiln kiln_onnx_conformance tests/kiln_tests tests/kiln_gpu_tests; do
  cp "$build/$exe" "$stage/bin/"
  ldd "$build/$exe" | awk '/=>/ {print $1, $3}' | while read -r name path; do
    [[ $name =~ $skip ]] && continue
    [ -f "$path" ] && cp -L "$path" "$stage/bin/$name"
  done
done
strip --strip-unneeded "$stage"/bin/* 2>/dev/null || true
mkdir -p "$stage/fixtures"
for f in "$build"/fixtures/*/; do
  name=$(basename "$f")
  [[ $name =~ $skip_fixtures ]] || cp -r "$f" "$stage/fixtures/$name"
done
[ -d "$build/onnx-node-tests" ] && cp -r "$build/onnx-node-tests" "$stage/onnx-node-tests"
tar -C "$stage" -cJf "$out" .
du -h "$out" | awk '{print "bundle:", $1}'
