#!/usr/bin/env bash
# The session API's device paths on real models, and the step time with and
# without host copies (issue 13), on a GPU machine:
#   test/gpu/device_api.sh BIN_DIR [MODEL...]
# BIN_DIR holds effc and effc-device-api-check; MODELs are folders of
# $EFFC_MODELS (default ../shared/models; default models: gpt2-dynamo
# llama-dynamo). Each is compiled (fp32, the test data's shapes), then
# effc-device-api-check checks device inputs, runOnDevice, runInto device
# and host buffers, a caller stream, graphs off and two threads against
# run()'s host outputs, and times a step (--time 50). Exit 1 on any failure.
set -uo pipefail
me=device_api
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# -ge 1 ]] || fail_setup "usage: test/gpu/device_api.sh BIN_DIR [MODEL...]"
bin=$1; shift
models=${EFFC_MODELS:-$here/../../../shared/models}
need_exec "$bin/effc" "$bin/effc-device-api-check"
need_dir "$models" "models directory (EFFC_MODELS)"
need_python onnx
log=${OUT:-/tmp}/device-api; mkdir -p "$log"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failed=0
list=("$@"); ((${#list[@]})) || list=(gpt2-dynamo llama-dynamo)
for m in "${list[@]}"; do
  data=$models/$m/test_data_set_0
  need_dir "$data" "test data of $m"
  # shellcheck disable=SC2046  # several flags each
  if ! "$bin/effc" "$models/$m/model.onnx" $(python3 "$here/pb_flags.py" --shape "$data") \
       -o "$work/$m.effc" >"$log/$m.effc.log" 2>&1; then
    echo "device_api: $m: FAIL(effc), see $log/$m.effc.log"; failed=1; continue
  fi
  # shellcheck disable=SC2046
  "$bin/effc-device-api-check" "$work/$m.effc" $(python3 "$here/pb_flags.py" --input "$data") \
    --time 50 >"$log/$m.log" 2>"$log/$m.stderr"
  rc=$?
  grep -E '^(check|time)' "$log/$m.log" | sed "s/^/$m: /"
  tail -3 "$log/$m.stderr" | sed "s/^/$m: stderr: /"
  ((rc == 0)) || { echo "device_api: $m: FAIL (exit $rc)"; failed=1; }
done
if ((failed)); then echo "device_api: FAILED"; else echo "device_api: PASSED"; fi
exit $failed
