#!/usr/bin/env bash
# Installs the Debian 12 packages effc needs and builds everything into build/.
#   tools/setup.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake ninja-build g++ python3 llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
          clang-19 libclang-rt-19-dev libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
          libzstd-dev zlib1g-dev libgtest-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DLLVM_DIR=/usr/lib/llvm-19/lib/cmake/llvm -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir "$@"
cmake --build build
echo "setup: built tools in build/bin: $(ls build/bin | tr '\n' ' ')"
