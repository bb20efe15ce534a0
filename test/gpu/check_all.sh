#!/usr/bin/env bash
# Every shared model on the GPU with the cuda backend, in one run:
#   fp32         rtol 1e-4 (fp32 kernels are FFMA: GEMMs, attention, fusions)
#   bf16         --dtype=bf16, rtol 2e-2 (tensor-core GEMMs, FlashAttention-2)
#   fp32-fa2     INFO only, not a failure: fp32 with FlashAttention-2 forced on
#                (EFFC_FA2_F32=1: f32 q/k/v rounded to f16 for mma.sync) at
#                rtol 1e-3, the tolerance tensor-core kernels get; its
#                max_rel_err says whether FA2 could serve fp32 at 1e-4 too
# then compute-sanitizer memcheck on gpt2-dynamo (fp32 and bf16 artifacts,
# EFFC_CUDA_GRAPH=0 so every launch is checked on its own).
#
#   test/gpu/check_all.sh [BIN_DIR]
#     BIN_DIR      effc, effc-run, effc-nvrtc-check (static builds carried from
#                  the dev machine; default: build/bin of this repo)
#     EFFC_MODELS  ONNX backend-test layout dirs (default: ../shared/models
#                  next to the repo)
#     OUT          where the logs go (default: a temp dir)
# Prints a summary table last; exits 1 if any checked row fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=$(cd "${1:-$repo/build/bin}" && pwd)
models=${EFFC_MODELS:-$repo/../shared/models}
sanitizer=/usr/local/cuda/bin/compute-sanitizer
work=${OUT:-$(mktemp -d)}/check_all       # logs (small: they come back from $OUT)
arts=$(mktemp -d); trap 'rm -rf "$arts"' EXIT  # artifacts (MiBs each)
mkdir -p "$work"
for tool in effc effc-run effc-nvrtc-check; do
  [[ -x $bin/$tool ]] || { echo "check_all: missing $bin/$tool" >&2; exit 1; }
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true

# --shape NAME=DxD... from the reference inputs (TensorProto: dims = field 1,
# name = field 8), read with a tiny protobuf walker: no onnx module needed.
shape_flags() {
  python3 - "$1" <<'PY'
import sys, glob
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, i
flags = []
for f in sorted(glob.glob(sys.argv[1] + "/input_*.pb")):
    b = open(f, "rb").read(); i = 0; dims = []; name = ""
    while i < len(b):
        key, i = varint(b, i); field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
            if field == 1: dims.append(v)
        elif wt == 2:
            n, i = varint(b, i)
            if field == 1:
                j = i
                while j < i + n:
                    v, j = varint(b, j); dims.append(v)
            elif field == 8:
                name = b[i:i + n].decode()
            i += n
        elif wt == 1: i += 8
        elif wt == 5: i += 4
        else: break
    if name and dims:
        flags.append(f"--shape {name}={'x'.join(map(str, dims))}")
print(" ".join(flags) or "--shape input_ids=2x16")
PY
}

rows=()   # "model|config|rtol|max_rel_err|status"
failed=0
# worst max_rel_err over a run's "output NAME: ... max_rel_err=R ..." lines.
worst_err() { grep -o 'max_rel_err=[^ ]*' "$1" | cut -d= -f2 | sort -g | tail -1; }

# check MODEL CONFIG RTOL REQUIRED [effc args...]: compile, nvrtc-check, run on cuda.
check() {
  local model=$1 config=$2 rtol=$3 required=$4; shift 4
  local dir=$models/$model data=$models/$model/test_data_set_0
  local art=$arts/$model.$config.effc log=$work/$model.$config.log status err
  echo "=== $model [$config] rtol $rtol"; rm -f "$log.host"
  # shellcheck disable=SC2046
  if ! "$bin/effc" "$dir/model.onnx" $(shape_flags "$data") "$@" -o "$art" >"$log" 2>&1; then
    status="FAIL(effc)"
  elif grep -q "no CUDA kernel" "$log"; then
    status="FAIL(no-cuda-source)"
  elif ! "$bin/effc-nvrtc-check" "$art" --arch=sm_80,sm_90 >>"$log" 2>&1; then
    status="FAIL(nvrtc)"
  elif "$bin/effc-run" "$art" --backend=cuda --test-data "$data" --rtol "$rtol" >>"$log" 2>&1; then
    status=PASS
  else
    status="FAIL(cuda)"
    # Whether the artifact or the CUDA kernels are at fault.
    "$bin/effc-run" "$art" --backend=host --test-data "$data" --rtol "$rtol" >"$log.host" 2>&1 || true
  fi
  err=$(worst_err "$log"); err=${err:--}
  cat "$log"
  [[ -f $log.host ]] && { echo "--- host backend on the same artifact:"; cat "$log.host"; }
  if [[ $status != PASS && $required == 0 ]]; then
    status="INFO:$status"
  elif [[ $status != PASS ]]; then
    failed=1
  fi
  if [[ $config == fp32-fa2 && $err != - ]]; then
    status="$status (at 1e-4: $(awk -v e="$err" 'BEGIN{print (e + 0 <= 1e-4) ? "would pass" : "would fail"}'))"
  fi
  rows+=("$model|$config|$rtol|$err|$status")
}

for dir in "$models"/*/; do
  model=$(basename "$dir")
  [[ -f $dir/model.onnx && -d $dir/test_data_set_0 ]] || continue
  check "$model" fp32 1e-4 1
  check "$model" bf16 2e-2 1 --dtype=bf16
  EFFC_FA2_F32=1 check "$model" fp32-fa2 1e-3 0
done

# Memcheck: every launch on its own (no graph), fp32 and bf16 kernels.
memcheck() {
  local config=$1 art=$arts/gpt2-dynamo.$1.effc log=$work/memcheck.$1.log status=PASS
  echo "=== compute-sanitizer memcheck gpt2-dynamo [$config]"
  if [[ ! -x $sanitizer ]]; then
    status="FAIL(no $sanitizer)"
  elif [[ ! -f $art ]]; then
    status="FAIL(no artifact)"
  elif ! EFFC_CUDA_GRAPH=0 "$sanitizer" --tool memcheck --error-exitcode 99 --leak-check no \
      "$bin/effc-run" "$art" --backend=cuda --test-data "$models/gpt2-dynamo/test_data_set_0" \
      --rtol 2e-2 >"$log" 2>&1; then
    status="FAIL(memcheck)"
  elif ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    status="FAIL(memcheck summary)"
  fi
  cat "$log" 2>/dev/null | tail -40
  [[ $status == PASS ]] || failed=1
  rows+=("gpt2-dynamo|memcheck-$config|-|$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$log" 2>/dev/null | head -1)|$status")
}
memcheck fp32
memcheck bf16

echo
echo "=== check_all summary (logs: $work)"
printf '%-16s %-14s %-6s %-24s %s\n' model config rtol max_rel_err status
for r in "${rows[@]}"; do
  IFS='|' read -r m c t e s <<<"$r"
  printf '%-16s %-14s %-6s %-24s %s\n' "$m" "$c" "$t" "$e" "$s"
done
if [[ $failed != 0 ]]; then
  echo "check_all: FAILED"
  exit 1
fi
echo "check_all: all checked rows passed"
