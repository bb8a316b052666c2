#!/usr/bin/env bash
# Installs everything kiln needs to build, test and benchmark on a fresh Debian machine (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt_packages=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler
  libopenblas-dev
  libgtest-dev libgmock-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev zlib1g-dev
)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The demo needs no Python packages; tests and fixtures need TensorFlow and friends.
if [[ "${KILN_SKIP_PYTHON:-0}" != 1 ]]; then
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r "$(dirname "$0")/requirements.txt"
fi

# Where CUDA is, the cuDNN frontend's C++ headers (cuDNN's graph API, for fused convolutions); the
# package's Python side is not used, so its dependencies are not installed.
if [[ -x /usr/local/cuda/bin/nvcc ]] || command -v nvcc >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps \
    nvidia-cudnn-frontend==1.32.0
fi
