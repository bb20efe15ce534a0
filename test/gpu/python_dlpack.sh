#!/usr/bin/env bash
# The effc Python package on a GPU with torch (test/gpu/python_dlpack.py):
# torch CUDA tensors in, device outputs out through DLPack with no host round
# trip, checked against the host backend, and a step timed with and without
# host copies.
#   test/gpu/python_dlpack.sh WHEEL_DIR MODELS_DIR [python_dlpack.py args...]
# WHEEL_DIR is what test/gpu/stage.sh writes to DEST/python: the effc wheel
# for the GPU machine's python3 (3.12) and the libprotobuf.so it links. The
# wheel is unpacked into a temporary directory (no pip, no network).
# Exit 1 on any failure, including a missing wheel, torch or onnx.
set -euo pipefail
me=python_dlpack
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# -ge 2 ]] || fail_setup "usage: test/gpu/python_dlpack.sh WHEEL_DIR MODELS_DIR [args...]"
wheels=$1 models=$2
shift 2
need_dir "$wheels" "wheel directory (test/gpu/stage.sh: DEST/python)"
need_dir "$models" "models directory"
need_python numpy onnx torch
tag=$(python3 -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
whl=("$wheels"/effc-*-"$tag"-*.whl)
((${#whl[@]} == 1)) || fail_setup "no effc wheel for $tag in $wheels (test/gpu/stage.sh builds one for python 3.12)"
protobuf=("$wheels"/libprotobuf.so.*)
((${#protobuf[@]})) || fail_setup "no libprotobuf.so.* in $wheels (test/gpu/stage.sh copies it)"
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
python3 -m zipfile -e "${whl[0]}" "$site"
cp "${protobuf[@]}" "$site/effc/" # found through the module's RPATH $ORIGIN
PYTHONPATH=$site python3 "$here/python_dlpack.py" "$models" "$@"
