#!/usr/bin/env bash
# Text generation on a GPU (issue 14 part 5): effc's KV-cache generation loop
# against Hugging Face generate() (eager, and torch.compile with a static
# cache) on the same random-weight models, prompt 512, 128 new tokens, greedy,
# batch 1 and 8, bf16; and the bandwidth floor of a decode step.
#   bench/generate/run.sh BIN_DIR
# BIN_DIR holds effc and effc-run (static builds run anywhere); the machine
# needs python3 with torch (CUDA), transformers, onnx and onnxruntime.
#
# 1. export_withpast.py exports each model Optimum-style with past (as
#    ../shared/decoders/llama-withpast: input_ids, attention_mask, position_ids,
#    past_key_values.{i}.key/value -> logits, present.{i}.key/value), checked
#    with onnxruntime at past 0 and 7 (EFFC_GEN_ORT_CHECK), then effc compiles it once for cuda bf16 with symbolic
#    dims (--dim batch=1..8 --dim seq=1..512 --dim past=0..639 --dim
#    total=1..640; per-batch artifacts if that compile fails) and, for the
#    models of EFFC_GEN_FP32, in fp32 too. Models in parallel (CPU work).
# 2. Checks first: the fp32 artifact's greedy tokens of the first prompt must
#    be HF's fp32 tokens (TF32 off), exactly; effc's bf16 tokens are compared
#    with HF eager bf16's (a near-tie may pick another token in bf16: reported
#    as a match rate, not a failure).
# 3. Timings, one program at a time on the GPU: hf_peer.py (the model rebuilt
#    from its seed; its weight fingerprint must equal the export's), then
#    effc-run --generate 128 --bench R (one warm-up generation, R timed).
#    TTFT: prompt in, first token picked; ms/step: median decode step, each
#    ending when the step's tokens are known on the host (device finished).
#    floor: (bf16 weight bytes a step reads + mean KV cache bytes a step
#    reads) / the bandwidth of a 1 GiB device copy measured in the same run.
# Any failure (export, compile, run, fp32 tokens) is a FAIL and exit status 1.
#
# env: EFFC_GEN_MODELS (default "llama-1b gpt2-base"), EFFC_GEN_BATCHES ("1 8"),
#      EFFC_GEN_PROMPT (512), EFFC_GEN_NEW (128), EFFC_GEN_RUNS (timed
#      generations per config, 2), EFFC_GEN_FP32 (models checked in fp32,
#      "gpt2-base"; "" for none), EFFC_GEN_FP32_NEW (32), EFFC_GEN_ARCH
#      (cubins, sm_90a), EFFC_GEN_HF_COMPILE=0 (skip the torch.compile peer),
#      EFFC_GEN_FLAGS (more effc flags for every compile, e.g. "--kv-state
#      --last-logits"), EFFC_GEN_PROFILE (0: skip the per-kernel profile of
#      one decode step at the smallest batch, effc-run -v), EFFC_GEN_TIMEOUT (seconds per effc-run, 300), EFFC_GEN_ORT_CHECK (the
#      exports checked with onnxruntime: "small" (default: all but the 1b,
#      whose check costs ~10 GB and half a minute) or "all"), EFFC_GEN_DIR (work,
#      /tmp/effc-bench-generate; exports are kept and reused), OUT (logs:
#      ${OUT:-/tmp}/bench-generate).
set -uo pipefail
me=bench_generate
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../test/gpu/lib.sh
source "$here/../../test/gpu/lib.sh"
[[ $# == 1 ]] || fail_setup "usage: bench/generate/run.sh BIN_DIR"
bin=$(cd "$1" && pwd) || fail_setup "no directory $1"
work=${EFFC_GEN_DIR:-/tmp/effc-bench-generate}
log=${OUT:-/tmp}/bench-generate
read -ra models <<<"${EFFC_GEN_MODELS:-llama-1b gpt2-base}"
read -ra batches <<<"${EFFC_GEN_BATCHES:-1 8}"
prompt=${EFFC_GEN_PROMPT:-512}
new=${EFFC_GEN_NEW:-128}
runs=${EFFC_GEN_RUNS:-2}
fp32_models=${EFFC_GEN_FP32-gpt2-base}
fp32_new=${EFFC_GEN_FP32_NEW:-32}
arch=${EFFC_GEN_ARCH:-sm_90a}
timeout_s=${EFFC_GEN_TIMEOUT:-300}
backend=${EFFC_GEN_BACKEND:-cuda}       # host: a smoke run without a GPU (with EFFC_GEN_PEER_DEVICE=cpu)
peer_device=${EFFC_GEN_PEER_DEVICE:-cuda}
need_exec "$bin/effc" "$bin/effc-run"
need_python numpy torch transformers onnx onnxruntime
for m in "${models[@]}"; do
  [[ $m =~ ^(llama|gpt2)-(tiny|base|1b)$ ]] || fail_setup "bad model '$m' (llama|gpt2)-(tiny|base|1b)"
done
for b in "${batches[@]}"; do [[ $b =~ ^[1-9][0-9]*$ ]] || fail_setup "bad batch '$b'"; done
mkdir -p "$work"
rm -rf "$log"
mkdir -p "$log"
start=$SECONDS
say() { echo "[$((SECONDS - start)) s] $*" >&2; }
maxb=$(printf '%s\n' "${batches[@]}" | sort -n | tail -1)
minb=$(printf '%s\n' "${batches[@]}" | sort -n | head -1)
dims=(--dim "batch=$minb..$maxb" --dim "seq=1..$prompt" --dim "past=0..$((prompt + new - 1))"
  --dim "total=1..$((prompt + new))")
# EFFC_GEN_FLAGS: more effc flags for every compile (e.g. "--kv-state --last-logits").
read -ra flags <<<"${EFFC_GEN_FLAGS:-}"

# 1. Export and compile, one pipeline per model in parallel.
prepare() {
  local m=$1 dir=$work/$1 t=$SECONDS
  if [[ ! -f $dir/meta.json ]]; then
    rm -rf "$dir"
    local ort=()
    [[ ${EFFC_GEN_ORT_CHECK:-small} == all || ${m#*-} != 1b ]] || ort=(--no-check)
    python3 "$here/export_withpast.py" --arch "${m%%-*}" --size "${m#*-}" --out "$dir" "${ort[@]}" \
      >"$log/export-$m.log" 2>&1 ||
      { echo "export failed" >"$log/$m.fail"; return; }
  fi
  echo $((SECONDS - t)) >"$log/$m.export_s"
  t=$SECONDS
  if ! "$bin/effc" "$dir/model.onnx" "${dims[@]}" "${flags[@]}" --dtype=bf16 --embed-cubin "--arch=$arch" \
    -o "$work/$m-bf16.effc" >"$log/effc-$m-bf16.log" 2>&1; then
    rm -f "$work/$m-bf16.effc"
    for b in "${batches[@]}"; do # fixed batch per artifact
      "$bin/effc" "$dir/model.onnx" --dim "batch=$b" "${dims[@]:2}" "${flags[@]}" --dtype=bf16 --embed-cubin "--arch=$arch" \
        -o "$work/$m-bf16-b$b.effc" >>"$log/effc-$m-bf16.log" 2>&1 ||
        { rm -f "$work/$m-bf16-b$b.effc"; echo "effc bf16 compile failed" >"$log/$m.fail"; }
    done
  fi
  if [[ " $fp32_models " == *" $m "* ]]; then
    "$bin/effc" "$dir/model.onnx" --dim batch=1 "${dims[@]:2}" "${flags[@]}" --embed-cubin "--arch=$arch" \
      -o "$work/$m-fp32.effc" >"$log/effc-$m-fp32.log" 2>&1 || rm -f "$work/$m-fp32.effc"
  fi
  echo $((SECONDS - t)) >"$log/$m.compile_s"
}
say "exporting and compiling: ${models[*]} (logs: $log)"
for m in "${models[@]}"; do prepare "$m" & done
wait
for m in "${models[@]}"; do
  say "$m: export $(cat "$log/$m.export_s" 2>/dev/null || echo '?') s, effc $(cat "$log/$m.compile_s" 2>/dev/null || echo '?') s" \
    "$(cat "$log/$m.fail" 2>/dev/null)"
  [[ -f $log/export-$m.log ]] && tail -1 "$log/export-$m.log" >&2
done

artifact() { # MODEL BATCH: the bf16 artifact that runs BATCH
  if [[ -f $work/$1-bf16.effc ]]; then echo "$work/$1-bf16.effc"; else echo "$work/$1-bf16-b$2.effc"; fi
}
field() { # KEY LINE: the value of KEY=... in LINE
  sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" <<<"$2" | head -1
}
# tokens_match EFFC_LOG REF_NPY: "K/N P": K of the N tokens of REF's rows equal
# effc-run's 'sequence b:' lines position by position; P: the shortest common
# prefix of a row (after a near-tie flips one token in bf16, the rest differs).
tokens_match() {
  python3 - "$@" <<'EOF' 2>/dev/null || echo '?'
import sys, numpy as np
ref = np.load(sys.argv[2])
got = {}
for line in open(sys.argv[1]):
    if line.startswith("sequence "):
        b, toks = line[len("sequence "):].split(":", 1)
        got[int(b)] = [int(t) for t in toks.split()]
match = total = 0
prefix = ref.shape[1]
for b in range(ref.shape[0]):
    g = got.get(b, [])
    same = [k < len(g) and g[k] == t for k, t in enumerate(ref[b])]
    match += sum(same)
    total += len(ref[b])
    prefix = min(prefix, same.index(False) if False in same else len(same))
print(f"{match}/{total} {prefix}")
EOF
}

failed=0
declare -A row_check
# 2 + 3. Per model: the peer (fp32 reference tokens, floor, HF timings), then effc.
for m in "${models[@]}"; do
  dir=$work/$m
  if [[ -f $log/$m.fail ]]; then
    failed=1
    row_check[$m]="FAIL($(cat "$log/$m.fail"))"
    tail -5 "$log/export-$m.log" "$log/effc-$m-bf16.log" 2>/dev/null >&2
    continue
  fi
  # Prompts: the first B of maxb seeded random rows, ids < min(vocab, 32000)
  # (the same for both default models).
  python3 - "$work" "$m" "$maxb" "$prompt" "${batches[@]}" <<'EOF' || fail_setup "cannot write the prompts"
import json, sys, numpy as np
work, m, maxb, prompt, batches = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
vocab = json.load(open(f"{work}/{m}/meta.json"))["vocab"]
ids = np.random.default_rng(1234).integers(0, min(vocab, 32000), (maxb, prompt)).astype(np.int64)
for b in batches:
    np.save(f"{work}/ids-{m}-b{b}.npy", ids[:int(b)])
np.save(f"{work}/ids-{m}-first.npy", ids[:1])
EOF
  peer_args=(--arch "${m%%-*}" --size "${m#*-}" --meta "$dir/meta.json" --prompts "$work/ids-$m-b{B}.npy"
    --batches "${batches[@]}" --new "$new" --runs "$runs" --out "$work/hf-$m" --device "$peer_device")
  [[ ${EFFC_GEN_HF_COMPILE:-1} == 0 ]] && peer_args+=(--modes eager)
  [[ " $fp32_models " == *" $m "* ]] && peer_args+=(--fp32-tokens "$fp32_new")
  say "$m: HF generate (eager$([[ ${EFFC_GEN_HF_COMPILE:-1} == 0 ]] || echo ', compile + static cache'))"
  rm -rf "$work/hf-$m"
  python3 "$here/hf_peer.py" "${peer_args[@]}" >"$log/peer-$m.txt" 2>"$log/peer-$m.err" ||
    { failed=1; say "$m: hf_peer.py failed:"; tail -5 "$log/peer-$m.err" >&2; }
  cat "$log/peer-$m.txt" >&2

  if [[ " $fp32_models " == *" $m "* ]]; then
    check=FAIL
    if [[ ! -f $work/$m-fp32.effc ]]; then
      check="FAIL(effc fp32 compile: $(tail -1 "$log/effc-$m-fp32.log" | cut -c1-80))"
    elif [[ ! -f $work/hf-$m/tokens-fp32.npy ]]; then
      check="FAIL(no HF fp32 tokens)"
    else
      timeout "$timeout_s" "$bin/effc-run" "$work/$m-fp32.effc" "--backend=$backend" --generate "$fp32_new" \
        --input "input_ids=$work/ids-$m-first.npy" >"$log/effc-$m-fp32.run" 2>&1
      read -r match _ <<<"$(tokens_match "$log/effc-$m-fp32.run" "$work/hf-$m/tokens-fp32.npy")"
      [[ $match == "$fp32_new/$fp32_new" ]] && check="PASS(fp32 tokens $match)" || check="FAIL(fp32 tokens $match)"
    fi
    [[ $check == PASS* ]] || failed=1
    say "$m: fp32 check (first prompt, $fp32_new greedy tokens vs HF fp32): $check"
    row_check[$m]=$check
  fi

  for b in "${batches[@]}"; do
    art=$(artifact "$m" "$b") run=$log/effc-$m-b$b.run
    say "$m batch $b: effc-run --generate $new --bench $runs"
    if [[ ! -f $art ]]; then
      echo "no artifact" >"$run"
      failed=1
      continue
    fi
    timeout "$timeout_s" "$bin/effc-run" "$art" "--backend=$backend" --generate "$new" --bench "$runs" \
      --input "input_ids=$work/ids-$m-b$b.npy" >"$run" 2>&1 || { failed=1; tail -3 "$run" >&2; }
    grep '^generate timing:' "$run" >&2
  done
  # Where a decode step goes (EFFC_GEN_PROFILE=0 skips): effc-run -v times the
  # kernels of one step of the smallest batch one by one (no CUDA graph, so
  # their sum exceeds the graph's step); the table is in the log, the by-op
  # summary here.
  art=$(artifact "$m" "$minb") prof=$log/profile-$m-b$minb.txt
  if [[ ${EFFC_GEN_PROFILE:-1} != 0 && -f $art ]]; then
    if timeout "$timeout_s" "$bin/effc-run" "$art" "--backend=$backend" --generate 16 -v \
      --input "input_ids=$work/ids-$m-b$minb.npy" >/dev/null 2>"$prof"; then
      say "$m batch $minb: one decode step's kernels by op (effc-run -v; all of them in $prof):"
      sed -n '/op (all its kernels)/,$p' "$prof" | head -16 >&2
    else
      failed=1
      say "$m batch $minb: effc-run -v failed:"
      tail -3 "$prof" >&2
    fi
  fi
done

# The table.
num() { [[ -n $1 ]] && echo "$1" || echo '?'; }
printf '\n%-10s %5s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %8s %6s %7s | %9s %6s  %s\n' \
  model batch effc_ttft ms/step tok/s eager_ttft ms/step tok/s comp_ttft ms/step tok/s floor_ms effc/f \
  vs_best tokens prefix check
for m in "${models[@]}"; do
  peer=$log/peer-$m.txt
  for b in "${batches[@]}"; do
    run=$log/effc-$m-b$b.run
    e=$(grep -h '^generate timing:' "$run" 2>/dev/null)
    pe=$(grep -h "^PEER model=$m batch=$b mode=eager " "$peer" 2>/dev/null)
    pc=$(grep -h "^PEER model=$m batch=$b mode=compile " "$peer" 2>/dev/null)
    fl=$(grep -h "^FLOOR model=$m batch=$b " "$peer" 2>/dev/null)
    e_step=$(field step_ms_mean "$e") floor=$(field floor_ms "$fl")
    ratios=$(python3 -c "
import sys
def f(x):
    try: return float(x)
    except ValueError: return float('nan')
e, fl, a, c = (f(x) for x in sys.argv[1:])
best = min((x for x in (a, c) if x == x), default=float('nan'))
print(f'{e / fl:.2f}x' if e == e and fl == fl else '?', f'{best / e:.2f}x' if e == e and best == best else '?')" \
      "$(num "$e_step")" "$(num "$floor")" "$(num "$(field step_ms_mean "$pe")")" "$(num "$(field step_ms_mean "$pc")")")
    read -r r_floor r_best <<<"$ratios"
    match='?' prefix='?'
    [[ -f $work/hf-$m/tokens-eager-b$b.npy && -f $run ]] &&
      read -r match prefix <<<"$(tokens_match "$run" "$work/hf-$m/tokens-eager-b$b.npy")"
    check=${row_check[$m]:-}
    [[ -n $pc && $(field compiled "$pc") == 0 ]] && check="$check (HF compile: generate() did not compile)"
    if [[ -z $e ]]; then
      failed=1
      [[ $check == FAIL* ]] || check="FAIL(effc: $(tail -1 "$run" 2>/dev/null | cut -c1-60)) $check"
    fi
    printf '%-10s %5s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %8s %6s %7s | %9s %6s  %s\n' "$m" "$b" \
      "$(num "$(field ttft_ms "$e")")" "$(num "$e_step")" "$(num "$(field decode_tok_s "$e")")" \
      "$(num "$(field ttft_ms "$pe")")" "$(num "$(field step_ms_mean "$pe")")" "$(num "$(field decode_tok_s "$pe")")" \
      "$(num "$(field ttft_ms "$pc")")" "$(num "$(field step_ms_mean "$pc")")" "$(num "$(field decode_tok_s "$pc")")" \
      "$(num "$floor")" "${r_floor:-?}" "${r_best:-?}" "${match:-?}" "${prefix:-?}" "${check:-ok}"
  done
done
bw=$(grep -h '^FLOOR' "$log"/peer-*.txt 2>/dev/null | head -1)
echo "bf16, prompt $prompt, $new new tokens, greedy; ms: TTFT (prompt in -> first token) and the mean decode step;"
echo "tok/s = batch x 1000 / mean step. effc: effc-run --generate --bench $runs ($backend, after one warm-up generation;"
echo "its median step is in the log); eager/comp: HF generate() eager / static cache + torch.compile (the check"
echo "column says when generate() did not compile the step), after warm-up, $runs timed runs each (median run)."
echo "floor_ms = (bf16 weight bytes + mean KV bytes a step reads) / copy bandwidth $(field bw_gbs "$bw") GB/s;"
echo "effc/f = effc step / floor; vs_best = best HF step / effc step (> 1: effc faster); tokens = effc bf16 tokens"
echo "equal to HF eager bf16's position by position, prefix = shortest common prefix of a row (random weights give"
echo "flat logits: a bf16 near-tie flips a token, then the rest differs; the fp32 check decides). Total $((SECONDS - start)) s."
echo "Logs: $log"
if ((failed)); then
  echo "bench_generate: FAILED"
  exit 1
fi
echo "bench_generate: all checks passed"
