#!/usr/bin/env bash
# Installs the Debian 12 packages effc needs and builds everything into build/.
#   tools/setup.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake ninja-build g++ python3 llvm-19-dev libmlir-19-dev mlir-19-tools llvm-19-tools
          clang-19 libclang-rt-19-dev libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
          libzstd-dev zlib1g-dev libgtest-dev clang-format-19 python3-dev python3-venv
          libcpp-httplib-dev)
# The tests' Python (test/lit/Inputs/*.py, test/e2e/run_model.sh) needs numpy
# and onnx with onnx.reference (onnx >= 1.13), imported by the python3 on PATH,
# which CMake's Python3_EXECUTABLE and lit's %python resolve to. Debian 12's
# python3-onnx (1.12) has no onnx.reference, so onnx comes from PyPI together
# with the numpy pip picks for it; Debian's own python3 gets pip from apt.
PYTHON_TEST_IMPORTS="import numpy, onnx, onnx.reference, onnx.helper, onnx.numpy_helper"
if ! command -v python3 >/dev/null || [ "$(python3 -c 'import sys; print(sys.prefix)')" = /usr ]; then
  PACKAGES+=(python3-pip)
fi
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

if ! python3 -c "$PYTHON_TEST_IMPORTS" 2>/dev/null; then
  echo "setup: installing python's numpy and onnx from PyPI for $(command -v python3)"
  # Debian's python3 refuses a plain pip install (PEP 668): retry past that.
  python3 -m pip install --quiet numpy onnx ||
    python3 -m pip install --quiet --break-system-packages numpy onnx || true
fi
if ! python3 -c "$PYTHON_TEST_IMPORTS"; then
  echo "setup: error: $(command -v python3) cannot import numpy and onnx (>= 1.13, with onnx.reference), which the tests need" >&2
  exit 1
fi

cmake -G Ninja -S . -B build -DCMAKE_BUILD_TYPE=Release \
  -DLLVM_DIR=/usr/lib/llvm-19/lib/cmake/llvm -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir "$@"
cmake --build build
echo "setup: built tools in build/bin: $(ls build/bin | tr '\n' ' ')"

# The Python package: `pip install .` (pyproject.toml; its CMake tree persists
# in build/python/cmake, so a rerun is incremental) into the venv whose python
# ctest `python` runs the pytest suite with (test/python/run_pytest.sh, which
# reinstalls the same way when the binding or compile sources are newer). The
# build requirements live in the venv (--no-build-isolation), so a reinstall
# reuses the same nanobind and needs no download.
venv=build/python/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet numpy onnx pytest nanobind scikit-build-core
start=$SECONDS
"$venv/bin/pip" install --quiet --no-build-isolation .
echo "setup: pip install . (effc Python package) took $((SECONDS - start)) s"
