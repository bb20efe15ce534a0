#!/usr/bin/env bash
# Serving benchmark (issue 19): effc's engine (continuous batching over the
# paged KV cache, effc-run --serve-bench) against Hugging Face generate() with
# static batches on the same trace and model, and speculative decoding at
# batch 1 (speedup vs acceptance rate).
#   bench/serve/run.sh BIN_DIR
# BIN_DIR holds effc and effc-run. Needs python3; the HF peer and the exports
# need torch (CUDA), transformers, onnx, onnxruntime (the GPU machine's).
#
# 1. make_workload.py writes the trace: EFFC_SERVE_REQUESTS requests, prompt
#    and output lengths uniform in EFFC_SERVE_PROMPT / EFFC_SERVE_OUTPUT, per
#    rate of EFFC_SERVE_RATES: a number is a Poisson arrival rate (req/s),
#    'inf' all at once.
# 2. bench/generate/export_withpast.py exports EFFC_SERVE_MODEL (and the
#    draft EFFC_SERVE_DRAFT, 1/8 of its parameters, same vocabulary) with past;
#    effc compiles it once per variant of EFFC_SERVE_VARIANTS with symbolic
#    dims (--dim batch=1..B --dim seq=1..S --dim past=0..L-1 --dim total=1..L,
#    B = EFFC_SERVE_BATCH, the rows of one run (the engine's slots unless
#    EFFC_SERVE_MAX_SEQS); S = EFFC_SERVE_SEQ, the
#    prefill chunk; L = the longest prompt + output):
#      paged-state  --paged-kv=PAGE --kv-state (pools in session state)
#      paged        --paged-kv=PAGE (pools fed and returned each run)
#      packed-state --paged-kv=PAGE --kv-state --packed-tokens, compiled with
#                   --dim batch=1 --dim seq=1..T (T = EFFC_SERVE_PACKED_SEQ):
#                   each run packs the new tokens of every running request
#                   back to back, up to T, no padding
#      packed       the same without --kv-state
#      gather       no paging in the model: the engine gathers each run's past
#                   from its page store into the contiguous past inputs
#                   (slow: it replays the first EFFC_SERVE_GATHER_REQUESTS
#                   requests at once, beside the first paged variant)
# 3. Per rate: effc-run ART --serve-bench TRACE per variant, then
#    hf_serve_peer.py (static batches of EFFC_SERVE_HF_BATCH in arrival
#    order, padded); one table (report.py): throughput, TTFT / ITL / E2E
#    percentiles, KV pool waste, the runs' padding, and each row's
#    throughput / HF's.
# 4. Speculative decoding (EFFC_SERVE_SPEC=1): target and draft compiled at
#    batch 1 (paged-state); EFFC_SERVE_SPEC_REQUESTS requests of
#    EFFC_SERVE_SPEC_PROMPT + EFFC_SERVE_SPEC_NEW tokens one after another,
#    without a draft, with the draft and with the target as its own draft
#    (acceptance 1) per K of EFFC_SERVE_SPEC_K: measured acceptance and
#    speedup, and the speedup the measured step costs give at acceptance
#    0.5..1 (report.py says how).
# Any failed export, compile or run is a FAIL and exit status 1; the issue's
# targets (>= 10x HF, < 4% waste, >= 2x at acceptance >= 0.8) are reported.
#
# env: EFFC_SERVE_MODEL (llama-1b), EFFC_SERVE_DRAFT (llama-1b-draft; the
#      export_withpast sizes), EFFC_SERVE_ONNX / EFFC_SERVE_DRAFT_ONNX (a
#      directory with model.onnx exported with past instead: no export, no
#      HF peer), EFFC_SERVE_REQUESTS (256), EFFC_SERVE_PROMPT ("128 2048"),
#      EFFC_SERVE_OUTPUT ("64 512"), EFFC_SERVE_RATES ("inf 8"),
#      EFFC_SERVE_BATCH (32), EFFC_SERVE_MAX_SEQS (requests running at once,
#      effc-run --max-seqs; default the batch; more run in several runs of
#      the compiled batch per step), EFFC_SERVE_SEQ (512), EFFC_SERVE_PAGE (16),
#      EFFC_SERVE_VARIANTS ("paged-state paged packed-state gather"),
#      EFFC_SERVE_PACKED_SEQ (2048; tokens of one packed run),
#      EFFC_SERVE_GATHER_REQUESTS (32), EFFC_SERVE_PEER
#      (hf or none), EFFC_SERVE_HF_BATCH (16), EFFC_SERVE_SPEC (1),
#      EFFC_SERVE_SPEC_K ("2 4"), EFFC_SERVE_SPEC_REQUESTS (4),
#      EFFC_SERVE_SPEC_PROMPT (512), EFFC_SERVE_SPEC_NEW (128),
#      EFFC_SERVE_BACKEND (cuda; host with EFFC_SERVE_PEER_DEVICE=cpu),
#      EFFC_SERVE_DTYPE (bf16), EFFC_SERVE_ARCH (sm_90a), EFFC_SERVE_TIMEOUT
#      (seconds per effc-run, 300), EFFC_SERVE_SEED (0), EFFC_SERVE_DIR (work,
#      /tmp/effc-bench-serve; exports kept and reused, the layout of
#      bench/generate's EFFC_GEN_DIR), OUT (logs: ${OUT:-/tmp}/bench-serve).
set -uo pipefail
me=bench_serve
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=test/gpu/lib.sh
source "$here/../../test/gpu/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: bench/serve/run.sh BIN_DIR"
bin=$(cd "$1" && pwd) || fail_setup "no directory $1"
work=${EFFC_SERVE_DIR:-/tmp/effc-bench-serve}
log=${OUT:-/tmp}/bench-serve
model=${EFFC_SERVE_MODEL:-llama-1b}
draft_model=${EFFC_SERVE_DRAFT:-${model}-draft}
onnx_dir=${EFFC_SERVE_ONNX:-}
draft_dir=${EFFC_SERVE_DRAFT_ONNX:-}
requests=${EFFC_SERVE_REQUESTS:-256}
read -ra prompt <<<"${EFFC_SERVE_PROMPT:-128 2048}"
read -ra output <<<"${EFFC_SERVE_OUTPUT:-64 512}"
read -ra rates <<<"${EFFC_SERVE_RATES:-inf 8}"
batch=${EFFC_SERVE_BATCH:-32}
max_seqs=${EFFC_SERVE_MAX_SEQS:-$batch}
seq=${EFFC_SERVE_SEQ:-512}
page=${EFFC_SERVE_PAGE:-16}
read -ra variants <<<"${EFFC_SERVE_VARIANTS:-paged-state paged packed-state gather}"
packed_seq=${EFFC_SERVE_PACKED_SEQ:-2048}
gather_requests=${EFFC_SERVE_GATHER_REQUESTS:-32}
peer=${EFFC_SERVE_PEER:-hf}
hf_batch=${EFFC_SERVE_HF_BATCH:-16}
spec=${EFFC_SERVE_SPEC:-1}
read -ra spec_k <<<"${EFFC_SERVE_SPEC_K:-2 4}"
spec_requests=${EFFC_SERVE_SPEC_REQUESTS:-4}
spec_prompt=${EFFC_SERVE_SPEC_PROMPT:-512}
spec_new=${EFFC_SERVE_SPEC_NEW:-128}
backend=${EFFC_SERVE_BACKEND:-cuda}
peer_device=${EFFC_SERVE_PEER_DEVICE:-cuda}
dtype=${EFFC_SERVE_DTYPE:-bf16}
arch=${EFFC_SERVE_ARCH:-sm_90a}
timeout_s=${EFFC_SERVE_TIMEOUT:-300}
seed=${EFFC_SERVE_SEED:-0}

need_exec "$bin/effc" "$bin/effc-run"
need_cmd python3 timeout
[[ ${#prompt[@]} == 2 && ${#output[@]} == 2 ]] || fail_setup "EFFC_SERVE_PROMPT / EFFC_SERVE_OUTPUT: 'MIN MAX'"
for v in "$requests" "$gather_requests" "$batch" "$max_seqs" "$seq" "$packed_seq" "$page" "$hf_batch" "$spec_requests" "$spec_prompt" "$spec_new" \
  "${prompt[@]}" "${output[@]}" "${spec_k[@]}"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || fail_setup "'$v' is not a positive integer (EFFC_SERVE_* sizes)"
done
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || fail_setup "EFFC_SERVE_TIMEOUT: a positive number of seconds, got '$timeout_s'"
[[ $spec =~ ^[01]$ ]] || fail_setup "EFFC_SERVE_SPEC: 0 or 1, got '$spec'"
[[ $backend =~ ^(cuda|host)$ ]] || fail_setup "EFFC_SERVE_BACKEND: cuda or host, got '$backend'"
[[ $dtype =~ ^(fp32|bf16|fp16)$ ]] || fail_setup "EFFC_SERVE_DTYPE: fp32, bf16 or fp16, got '$dtype'"
for v in "${variants[@]}"; do
  [[ $v =~ ^(paged-state|paged|packed-state|packed|gather)$ ]] ||
    fail_setup "bad variant '$v' (paged-state, paged, packed-state, packed, gather)"
done
# gather copies every row's past through the host each run (GBs a step on
# the 1B): it replays the first EFFC_SERVE_GATHER_REQUESTS requests, all at
# once, beside the first paged variant on the same requests.
main=() cmp=()
for v in "${variants[@]}"; do [[ $v == gather ]] || main+=("$v"); done
[[ " ${variants[*]} " == *" gather "* ]] && cmp=("${main[@]:0:1}" gather)
[[ $peer =~ ^(hf|none)$ ]] || fail_setup "EFFC_SERVE_PEER: hf or none, got '$peer'"
if [[ -n $onnx_dir ]]; then
  [[ -f $onnx_dir/model.onnx ]] || fail_setup "EFFC_SERVE_ONNX: no $onnx_dir/model.onnx"
  [[ $peer == none ]] || fail_setup "EFFC_SERVE_ONNX: the HF peer rebuilds an export_withpast model; set EFFC_SERVE_PEER=none"
else
  [[ $model =~ ^(llama|gpt2)-[a-z0-9-]+$ ]] || fail_setup "bad model '$model' (ARCH-SIZE of export_withpast.py)"
  need_python torch transformers onnx onnxruntime
fi
[[ $peer == none ]] || need_python numpy torch transformers
mkdir -p "$work"
rm -rf "$log"
mkdir -p "$log"
start=$SECONDS
say() { echo "[$((SECONDS - start)) s] $*" >&2; }
failed=0
fail() { failed=1; say "FAIL: $*"; }

# 1. Traces.
for r in "${rates[@]}"; do
  python3 "$here/make_workload.py" --requests "$requests" --prompt "${prompt[@]}" --output "${output[@]}" \
    --rate "$r" --seed "$seed" -o "$work/trace-$r.txt" || fail_setup "cannot write the trace (rate $r)"
done
python3 "$here/make_workload.py" --requests "$((gather_requests < requests ? gather_requests : requests))" \
  --prompt "${prompt[@]}" --output "${output[@]}" --rate inf --seed "$seed" -o "$work/trace-cmp.txt" ||
  fail_setup "cannot write the trace (gather)"
length=$((prompt[1] + output[1]))
spec_length=$((spec_prompt + spec_new))
: >"$work/trace-spec.txt"
for ((i = 0; i < spec_requests; ++i)); do echo "0 $spec_prompt $spec_new" >>"$work/trace-spec.txt"; done

# 2. Exports and compiles (in parallel: CPU work).
export_model() { # NAME: $work/NAME/model.onnx (kept when meta.json is there)
  local m=$1 dir=$work/$1
  [[ -f $dir/meta.json ]] && return 0
  rm -rf "$dir"
  local ort=()
  [[ $m == *-1b* ]] && ort=(--no-check) # onnxruntime on 1b costs ~10 GB and half a minute
  python3 "$here/../generate/export_withpast.py" --arch "${m%%-*}" --size "${m#*-}" --out "$dir" "${ort[@]}" \
    >"$log/export-$m.log" 2>&1 || { echo "export of $m failed: $(tail -1 "$log/export-$m.log")" >"$log/$m.fail"; return 1; }
}
# A batch range 1..B: runs of fewer rows are not padded to B. A packed
# variant is one row of up to EFFC_SERVE_PACKED_SEQ tokens (many requests'
# tokens back to back). A paged variant whose remarks do not show paging
# (eff-paged-kv refused the model), or a packed one not packed
# (eff-packed-tokens refused it), is a FAIL.
compile() { # ONNX VARIANT BATCH LENGTH OUT [SEQUENCES]
  local b=batch=1..$3 s=seq=1..$seq
  [[ $3 == 1 ]] && b=batch=1
  [[ $2 == packed* ]] && b=batch=1 s=seq=1..$packed_seq
  local flags=(--dim "$b" --dim "$s" --dim "past=0..$(($4 - 1))" --dim "total=1..$4"
    "--dtype=$dtype" --remarks)
  [[ $backend == cuda ]] && flags+=(--embed-cubin "--arch=$arch")
  # The pool: every sequence running at once (--max-seqs) at its longest.
  local pages=$((${6:-$3} * (($4 + page - 1) / page)))
  case $2 in
    paged-state) flags+=("--paged-kv=$page" "--paged-kv-pages=$pages" --kv-state) ;;
    paged) flags+=("--paged-kv=$page" "--paged-kv-pages=$pages") ;;
    packed-state) flags+=("--paged-kv=$page" "--paged-kv-pages=$pages" --kv-state --packed-tokens) ;;
    packed) flags+=("--paged-kv=$page" "--paged-kv-pages=$pages" --packed-tokens) ;;
  esac
  if ! "$bin/effc" "$1" "${flags[@]}" -o "$5" >"$5.log" 2>&1; then
    echo "effc $2 failed: $(tail -1 "$5.log")" >"$5.fail"
    rm -f "$5"
  elif [[ $2 == paged* || $2 == packed* ]] && ! grep -q 'paged KV: attention .* through the block table' "$5.log"; then
    echo "effc $2: not paged ($(grep -m1 'paged KV' "$5.log" | sed 's/.*remark: //'))" >"$5.fail"
    rm -f "$5"
  elif [[ $2 == packed* ]] && ! grep -q 'packed tokens: input_ids \[1, T\] holds the new tokens' "$5.log"; then
    echo "effc $2: not packed ($(grep -m1 'packed tokens' "$5.log" | sed 's/.*remark: //'))" >"$5.fail"
    rm -f "$5"
  fi
}
prepare_target() {
  if [[ -z $onnx_dir ]]; then export_model "$model" || return; fi
  local onnx=${onnx_dir:-$work/$model}/model.onnx v
  for v in "${variants[@]}"; do compile "$onnx" "$v" "$batch" "$length" "$work/serve-$v.effc" "$max_seqs" & done
  ((spec)) && compile "$onnx" paged-state 1 "$spec_length" "$work/spec-target.effc" &
  wait
}
prepare_draft() {
  ((spec)) || return 0
  if [[ -z $draft_dir ]]; then export_model "$draft_model" || return; fi
  compile "${draft_dir:-$work/$draft_model}/model.onnx" paged-state 1 "$spec_length" "$work/spec-draft.effc"
}
rm -f "$work"/*.effc "$work"/*.fail "$work"/*.effc.log
say "exports and compiles: ${onnx_dir:-$model}$( ((spec)) && echo ", draft ${draft_dir:-$draft_model}") (logs: $log)"
t=$SECONDS
prepare_target &
prepare_draft &
wait
say "exports and compiles took $((SECONDS - t)) s"
cp "$work"/*.effc.log "$log/" 2>/dev/null
for f in "$log"/*.fail "$work"/*.fail; do fail "$(cat "$f")"; done

# 3 and 4. One program at a time on the device.
serve() { # ARTIFACT TRACE LOG [ARGS...]
  local art=$1 trace=$2 out=$3
  shift 3
  if [[ ! -f $art ]]; then
    echo "no artifact $art" >"$out"
    return 1
  fi
  timeout "$timeout_s" "$bin/effc-run" "$art" "--backend=$backend" --serve-bench "$trace" \
    --kv-page-size "$page" "$@" >"$out" 2>&1
  local rc=$?
  ((rc != 124)) || echo "effc-run timed out after $timeout_s s (EFFC_SERVE_TIMEOUT)" >>"$out"
  return $rc
}
for r in "${rates[@]}"; do
  for v in "${main[@]}"; do
    say "rate $r: effc $v"
    serve "$work/serve-$v.effc" "$work/trace-$r.txt" "$log/serve-$v-$r.txt" --max-seqs "$max_seqs" || fail "effc $v, rate $r: $(tail -1 "$log/serve-$v-$r.txt")"
    grep -E '^(throughput|kv pool|runs):' "$log/serve-$v-$r.txt" >&2
  done
  if [[ $peer == hf ]]; then
    say "rate $r: HF generate, static batches of $hf_batch"
    python3 "$here/hf_serve_peer.py" --arch "${model%%-*}" --size "${model#*-}" --meta "$work/$model/meta.json" \
      --trace "$work/trace-$r.txt" --batch "$hf_batch" --device "$peer_device" \
      >"$log/serve-hf-$r.txt" 2>"$log/serve-hf-$r.err" || fail "HF peer, rate $r: $(tail -1 "$log/serve-hf-$r.err")"
    grep '^throughput:' "$log/serve-hf-$r.txt" >&2
  fi
done
for v in "${cmp[@]}"; do
  say "first $gather_requests requests at once: effc $v"
  serve "$work/serve-$v.effc" "$work/trace-cmp.txt" "$log/serve-$v-cmp.txt" --max-seqs "$max_seqs" || fail "effc $v, first requests: $(tail -1 "$log/serve-$v-cmp.txt")"
  grep -E '^(throughput|kv pool):' "$log/serve-$v-cmp.txt" >&2
done
if ((spec)); then
  say "speculative decoding at batch 1: $spec_requests requests of $spec_prompt + $spec_new tokens"
  serve "$work/spec-target.effc" "$work/trace-spec.txt" "$log/spec-none.txt" || fail "spec baseline: $(tail -1 "$log/spec-none.txt")"
  for k in "${spec_k[@]}"; do
    serve "$work/spec-target.effc" "$work/trace-spec.txt" "$log/spec-draft-k$k.txt" \
      --draft "$work/spec-draft.effc" --speculate "$k" || fail "spec draft K=$k: $(tail -1 "$log/spec-draft-k$k.txt")"
    serve "$work/spec-target.effc" "$work/trace-spec.txt" "$log/spec-self-k$k.txt" \
      --draft "$work/spec-target.effc" --speculate "$k" || fail "spec self K=$k: $(tail -1 "$log/spec-self-k$k.txt")"
  done
fi

python3 "$here/report.py" --log "$log" --rates "${rates[@]}" --variants "${main[@]}" \
  --cmp "${cmp[*]}" --cmp-requests "$gather_requests" --peer "$peer" --hf-batch "$hf_batch" --spec-k "$( ((spec)) && echo "${spec_k[@]}")" \
  --title "${onnx_dir:-$model} ($dtype, $backend), $requests requests, prompts ${prompt[*]}, outputs ${output[*]}, compiled batch $batch, $max_seqs at once, prefill chunk $seq, packed runs of $packed_seq tokens, pages of $page" ||
  fail "report.py: a log lacks its lines"
echo "Total $((SECONDS - start)) s. Logs: $log"
if ((failed)); then
  echo "bench_serve: FAILED"
  exit 1
fi
echo "bench_serve: all runs passed"
