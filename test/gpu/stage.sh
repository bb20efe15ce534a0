#!/usr/bin/env bash
# Everything test/gpu/run_all.sh needs on a GPU machine that cannot build
# effc, in one folder to copy there:
#   DEST/build/bin/          effc, effc-run, effc-nvrtc-check, effc-model-bench,
#                            effc-gemm-bench, effc-attention-bench, effc-moe-bench,
#                            effc-device-api-check
#                            (static, stripped)
#   DEST/build/test/unit/    effc-runtime-tests (cuda_backend_smoke.sh)
#   DEST/shared/             models, lora, quant, tools of ../shared
#   DEST/python/             the effc Python wheel for the GPU machine's python3
#                            (3.12; built with $EFFC_STAGE_PYTHON, default pyenv's
#                            3.12) and the libprotobuf.so it links (python_dlpack.sh)
#
#   test/gpu/stage.sh [DEST] [BUILD_DIR] [SHARED_DIR]   (defaults: .gpu, build, ../shared)
# Then, from the repo root on the GPU machine:
#   test/gpu/run_all.sh --checks-only DEST/build/bin DEST/shared/tools/export_hf_onnx.py
set -euo pipefail
me=stage
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
dest=${1:-$repo/.gpu}
build=${2:-$repo/build}
shared=${3:-$repo/../shared}
tools=(effc effc-run effc-nvrtc-check effc-model-bench effc-gemm-bench effc-attention-bench
  effc-moe-bench effc-device-api-check)
for t in "${tools[@]}"; do need_exec "$build/bin/$t"; done
need_exec "$build/test/unit/effc-runtime-tests"
for d in models lora quant tools decoders; do need_dir "$shared/$d" "shared $d"; done
need_cmd strip
stage_python=${EFFC_STAGE_PYTHON:-$HOME/.pyenv/versions/3.12.1/bin/python3.12}
need_exec "$stage_python"
protobuf=$(ldconfig -p | awk '/libprotobuf\.so\.[0-9]+ .*x86-64/ {print $NF; exit}')
[[ -n $protobuf ]] || fail_setup "no libprotobuf.so.N (x86-64) in ldconfig -p"
rm -rf "$dest"
mkdir -p "$dest/build/bin" "$dest/build/test/unit" "$dest/shared"
for t in "${tools[@]}"; do strip -o "$dest/build/bin/$t" "$build/bin/$t"; done
strip -o "$dest/build/test/unit/effc-runtime-tests" "$build/test/unit/effc-runtime-tests"
cp -r "$shared/models" "$shared/lora" "$shared/quant" "$shared/tools" "$shared/decoders" "$dest/shared/"
chmod -R u+w "$dest/shared"
# pip builds in build/python/cmake (pyproject.toml): after a pip install . for
# another python only the extension is rebuilt.
"$stage_python" -m pip wheel --quiet --no-deps -w "$dest/python" "$repo"
cp -L "$protobuf" "$dest/python/"
echo "stage: $(du -sh "$dest" | cut -f1) in $dest"
