#!/usr/bin/env bash
# Every GPU check and benchmark of README.md ("On a GPU machine") in one run,
# on a machine with an NVIDIA GPU, compute-sanitizer, torch and transformers:
#
#   test/gpu/run_all.sh [--checks-only | --bench-only] [--parts=P,P,...]
#                       [--deadline=SECONDS] [--list] BIN_DIR EXPORT_SCRIPT [BENCH_BIN_DIR]
#
#   BIN_DIR        effc, effc-run, effc-nvrtc-check, effc-model-bench (static
#                  builds from the dev machine: test/gpu/stage.sh gathers them
#                  and the shared data); cuda_backend_smoke also needs
#                  BIN_DIR/../test/unit/effc-runtime-tests
#   EXPORT_SCRIPT  ../shared/tools/export_hf_onnx.py; the shared models and
#                  LoRA models are read from the folder above its tools/
#                  (EFFC_SHARED overrides it)
#   BENCH_BIN_DIR  effc-gemm-bench and effc-attention-bench (default BIN_DIR)
#   --checks-only  the correctness parts only (numerics, compute-sanitizer);
#                  they run at the same time (each uses EFFC_JOBS, default 4,
#                  processes), so their printed timings are not measurements
#   --bench-only   the benchmarks only, one after the other, alone on the GPU;
#                  every timed configuration is checked too
#   --parts=LIST   just these parts (names: --list)
#   --deadline=S   parts still running S seconds after the start are stopped
#                  and fail; the summary and logs are still written (give the
#                  command a limit some seconds above S)
# Without a mode switch, the checks run first, then the benchmarks.
#
# Each part's exit status counts: the script prints each part's last lines,
# then a summary table (part, PASS/FAIL, seconds), and exits 1 if any part
# failed. With OUT set, $OUT/summary.txt (written as parts finish) and
# $OUT/logs.tar.gz (every part's logs) are all it leaves in $OUT; without, the
# logs stay in /tmp/effc-gpu-run-all.
set -uo pipefail
me=run_all
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

check_parts="compute_sanitizer check_all check_ops check_codegen check_lora check_lora_epilogue check_quant attention_long decode_check \
check_generate cuda_backend_smoke device_api python_dlpack"
bench_parts="bench_gemm bench_attention bench_models bench_lora"
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; }

mode=all parts='' deadline=0 positional=()
for a in "$@"; do
  case $a in
    --checks-only) mode=checks ;;
    --bench-only) mode=bench ;;
    --parts=*) parts=${a#--parts=} ;;
    --deadline=*) deadline=${a#--deadline=} ;;
    --list) echo "checks: $check_parts"; echo "benchmarks: $bench_parts"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) fail_setup "unknown option $a (see --help)" ;;
    *) positional+=("$a") ;;
  esac
done
((${#positional[@]} >= 2 && ${#positional[@]} <= 3)) || fail_setup "expected BIN_DIR EXPORT_SCRIPT [BENCH_BIN_DIR] (see --help)"
[[ $deadline =~ ^[0-9]+$ ]] || fail_setup "--deadline expects whole seconds, got '$deadline'"
bin=$(cd "${positional[0]}" 2>/dev/null && pwd) || fail_setup "BIN_DIR not found: ${positional[0]}"
export_script=$(realpath -e "${positional[1]}" 2>/dev/null) || fail_setup "EXPORT_SCRIPT not found: ${positional[1]}"
bench_bin=$(cd "${positional[2]:-$bin}" 2>/dev/null && pwd) || fail_setup "BENCH_BIN_DIR not found: ${positional[2]}"
shared=${EFFC_SHARED:-$(dirname "$(dirname "$export_script")")}

case $mode in
  checks) selected=$check_parts ;;
  bench) selected=$bench_parts ;;
  all) selected="$check_parts $bench_parts" ;;
esac
if [[ -n $parts ]]; then
  selected=${parts//,/ }
  for p in $selected; do
    [[ " $check_parts $bench_parts " == *" $p "* ]] || fail_setup "unknown part '$p' (see --list)"
  done
fi

# part_command NAME: the command line of a part, in the array `cmd`.
part_command() {
  case $1 in
    check_all) cmd=(env EFFC_MODELS="$shared/models" bash "$here/check_all.sh" "$bin") ;;
    check_ops) cmd=(bash "$here/check_ops.sh" "$bin") ;;
    check_codegen) cmd=(bash "$here/check_codegen.sh" "$bin") ;;
    compute_sanitizer) # the longest check: twice the processes
      cmd=(env EFFC_MODELS="$shared/models" EFFC_JOBS=$((EFFC_JOBS * 2)) bash "$here/compute_sanitizer.sh" "$bin") ;;
    check_lora) cmd=(bash "$here/check_lora.sh" "$bin" "$shared/lora") ;;
    check_lora_epilogue) cmd=(bash "$here/check_lora_epilogue.sh" "$bin") ;;
    check_quant) cmd=(bash "$here/check_quant.sh" "$bin" "$shared/quant") ;;
    attention_long) cmd=(bash "$here/attention_long.sh" "$bin") ;;
    decode_check) cmd=(bash "$here/decode_check.sh" "$bin") ;;
    check_generate) cmd=(bash "$here/check_generate.sh" "$bin" "$shared/decoders") ;;
    cuda_backend_smoke) cmd=(bash "$here/cuda_backend_smoke.sh" "$(dirname "$bin")") ;;
    device_api) cmd=(env EFFC_MODELS="$shared/models" bash "$here/device_api.sh" "$bin") ;;
    python_dlpack) # the wheel test/gpu/stage.sh puts in DEST/python (BIN_DIR is DEST/build/bin)
      cmd=(bash "$here/python_dlpack.sh" "$(dirname "$(dirname "$bin")")/python" "$shared/models") ;;
    bench_gemm) cmd=(env BENCH="$bench_bin/effc-gemm-bench" bash "$repo/bench/gemm/run.sh") ;;
    bench_attention) cmd=(env EFFC_ATTENTION_BENCH="$bench_bin/effc-attention-bench" bash "$repo/bench/attention/run.sh") ;;
    bench_models)
      cmd=(env EFFC_BENCH_CONFIGS="${EFFC_BENCH_CONFIGS:-gpt2:base:1:512:fp32 gpt2:base:8:512:fp32 \
gpt2:base:1:512:bf16 gpt2:base:2:512:bf16 gpt2:base:8:512:bf16 gpt2:base:1:2048:bf16 \
gpt2:base:1:2048:bf16:--raise-attention=false llama:1b:1:512:bf16 llama:1b:8:512:bf16}" \
        bash "$repo/bench/models/run.sh" "$bin" "$export_script") ;;
    bench_lora) cmd=(bash "$repo/bench/lora/run.sh" "$bin" "$export_script") ;;
  esac
}

if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  logs=$(mktemp -d /tmp/effc-gpu-run-all.XXXXXX)  # packed into $OUT/logs.tar.gz at the end
  summary_file=$OUT/summary.txt
else
  logs=/tmp/effc-gpu-run-all; rm -rf "$logs"; mkdir -p "$logs"
  summary_file=$logs/summary.txt
fi
mkdir -p "$logs/status"
: >"$summary_file"
# Exports (Llama-1B: ~2 minutes) shared by bench_models and bench_lora.
export EFFC_EXPORT_CACHE=${EFFC_EXPORT_CACHE:-/tmp/effc-exports}
# The checks run side by side: a few processes each.
export EFFC_JOBS=${EFFC_JOBS:-4}
start=$SECONDS

{
  echo "run_all: mode=$mode parts: $selected"
  echo "bin=$bin shared=$shared bench_bin=$bench_bin"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -2
  /usr/local/cuda/bin/compute-sanitizer --version 2>&1 | tail -1
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.is_available())' 2>&1 | tail -1
} | tee "$logs/environment.txt"

# run_part NAME: runs one part with its logs in $logs/NAME (its OUT) and its
# output in $logs/NAME.log; records "NAME|kind|status|seconds".
run_part() {
  local name=$1 kind=check t0=$SECONDS rc status limit=0 cmd=()
  [[ " $bench_parts " == *" $name "* ]] && kind=bench
  part_command "$name"
  mkdir -p "$logs/$name"
  if ((deadline > 0)); then
    limit=$((deadline - (SECONDS - start)))
    if ((limit < 10)); then
      echo "$name|$kind|FAIL(not run: deadline)|0" >"$logs/status/$name"
      echo "not run: the --deadline=$deadline had passed" >"$logs/$name.log"
      cat "$logs/status/$name" >>"$summary_file"
      return
    fi
  fi
  local script arg
  for arg in "${cmd[@]}"; do [[ $arg == *.sh ]] && { script=$arg; break; }; done
  if [[ ! -f $script ]]; then
    echo "run_all: $name: missing $script" >"$logs/$name.log"
    rc=127
  elif ((limit > 0)); then
    (cd "$repo" && OUT=$logs/$name timeout -k 10 "$limit" "${cmd[@]}") >"$logs/$name.log" 2>&1
    rc=$?
  else
    (cd "$repo" && OUT=$logs/$name "${cmd[@]}") >"$logs/$name.log" 2>&1
    rc=$?
  fi
  case $rc in
    0) status=PASS ;;
    124 | 137) status="FAIL(deadline)" ;;
    127) status="FAIL(missing)" ;;
    *) status="FAIL(exit $rc)" ;;
  esac
  echo "$name|$kind|$status|$((SECONDS - t0))" >"$logs/status/$name"
  cat "$logs/status/$name" >>"$summary_file"
}

# Checks side by side; benchmarks after them, one at a time.
for p in $selected; do
  [[ " $bench_parts " == *" $p "* ]] || run_part "$p" &
done
wait
for p in $selected; do
  [[ " $bench_parts " == *" $p "* ]] && run_part "$p"
done

# Each part's last lines (a benchmark's table, a check's summary), then the
# summary table.
failed=0
for p in $selected; do
  IFS='|' read -r name kind status secs <"$logs/status/$p"
  [[ $status == PASS ]] || failed=1
  lines=8
  [[ $kind == bench || $status != PASS ]] && lines=40
  echo
  echo "=============== $name: $status (${secs}s)"
  tail -n "$lines" "$logs/$name.log" | cut -c1-240
done
{
  echo
  echo "=== run_all summary ($(date -u +%FT%TZ), $((SECONDS - start))s in all, mode=$mode)"
  printf '%-20s %-6s %-24s %8s  %s\n' part kind status seconds "last line"
  for p in $selected; do
    IFS='|' read -r name kind status secs <"$logs/status/$p"
    last=$(grep -v '^[[:space:]]*$' "$logs/$name.log" | tail -1 | cut -c1-100)
    printf '%-20s %-6s %-24s %8s  %s\n' "$name" "$kind" "$status" "$secs" "$last"
  done
  if ((failed)); then echo "run_all: FAILED"; else echo "run_all: all parts passed"; fi
} | tee "$logs/summary-table.txt"
cat "$logs/summary-table.txt" >>"$summary_file"

if [[ -n ${OUT:-} ]]; then
  # Logs only: no tensors, artifacts or kernel sources; no file over 4 MiB.
  (cd "$logs" && find . -type f -size -4M ! -name '*.npy' ! -name '*.pb' ! -name '*.effc' ! -name '*.onnx' \
     ! -name '*.data' ! -name '*.cubin' ! -name '*.cu' ! -name '*.safetensors' -print0 |
     tar czf "$OUT/logs.tar.gz" --null -T -) || echo "run_all: packing the logs failed"
  rm -rf "$logs"
  echo "run_all: logs in \$OUT/logs.tar.gz, summary in \$OUT/summary.txt"
else
  echo "run_all: logs in $logs"
fi
exit $failed
