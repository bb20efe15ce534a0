#!/usr/bin/env bash
# Serving engine in KV-cache mode over the paged KV cache (effc/Engine.h,
# runtime/src/PagedSlotModel.cpp, PagedKvCache.h) on the host backend:
# ../shared/decoders/llama-withpast (llama's weights, exported with past)
# compiled once with symbolic seq/past/total, every request of
# effc-run --generate 16 --test-data llama/generate_0 must give its row's
# reference tokens (exit 1 otherwise), and the pool lines must say what the
# mode exercises.
#   test/e2e/run_engine_paged.sh MODE WITHPAST_DIR REFERENCE_DIR BIN_DIR [BACKEND]
# MODE: repeat (each row 3 times at once, pages of 4 and of 16: copies
# admitted together share the prompt's pages, copy-on-write at the page of the
# last prompt token, and a copy admitted after the others finished takes them
# from the prefix cache; without sharing nothing is shared), stagger (rows
# submitted at steps 0 and 2 / 0 and 7), preempt (a pool too small for both
# rows at once: the latest admitted is evicted and recomputed, with and
# without sharing), speculate (draft = the target itself: every draft
# accepted, truncation of shared pages; draft = gpt2 in recompute mode),
# errors (a pool smaller than one request, bad page sizes, the KV options
# without the engine), oversubscribe (--max-seqs: more requests at once than
# the compiled batch, run in several runs per step; with preemption and
# speculative decoding).
# paged-kv-range: a --paged-kv compile with a batch range (1..2).
# paged-kv-{repeat,stagger,preempt,speculate,oversubscribe}: the same runs and expectations
# over the model compiled with --paged-kv=PAGE_SIZE (passes/PagedKv.cpp: the
# pools are model inputs/outputs and attention reads them through the block
# table; nothing gathered), one compile per page size, its pool as large as
# the unpaged default (2 x ceil(256 / PAGE_SIZE) pages). paged-kv-logits:
# effc-paged-kv-logits (test/e2e/paged_kv_logits.cpp, path in $6) compares
# the two compiles' logits forward by forward (staggered rows, prefix
# sharing, copy-on-write, rewind), also split-KV (eff.paged_attention_partial
# + combine). paged-kv-fixed: a fixed seq of 8 (the
# GPU cases' compile), its CUDA kernels through NVRTC.
# paged-kv-state-{repeat,stagger,preempt,speculate,oversubscribe,range}: the paged-kv runs over the compile
# with --kv-state too (the pools are session state: not inputs or outputs,
# written in place, copy-on-write copies a page inside the session with
# Session::copyStatePage); EFFC_VERBOSE=2's per-run line must show 4
# session-state tensors and no run copying a pool in.
# packed, packed-logits: the compile with --paged-kv --packed-tokens
# (passes/PackedTokens.cpp: --dim batch=1, input_ids [1, T] holds every fed
# sequence's new tokens back to back, attention per token): --repeat,
# --stagger, --max-seqs, preemption, speculation and the pools in session
# state give the reference tokens, and every run of the target computed no
# padding ('runs: ... 0 of them padding'), where the batch-2 paged compile
# pads (the check can fail); packed-logits: effc-paged-kv-logits ... packed
# (each forward one run of exactly the positions its feeds add, logits equal
# to the unpaged compile's), split-KV, the remarks, NVRTC for
# sm_80/sm_90/sm_90a, and the models the pass leaves as they are.
set -euo pipefail
mode=$1; model_dir=$2; ref_dir=$3; bin_dir=$4; backend=${5:-host}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
dims=(--dim batch=2 --dim seq=1..32 --dim past=0..255 --dim total=1..288)
"$bin_dir/effc" "$model_dir/model.onnx" "${dims[@]}" -o "$work/cache.effc" >/dev/null
# Symbolic seq: the paged CUDA kernels read the run's batch and seq from
# effc_dims, so the --paged-kv compiles below include their CUDA kernels
# (the GPU cases, test/gpu/cases/engine-paged.txt, run both forms).
paged= state= packed=
if [[ $mode == packed* ]]; then packed=--packed-tokens; mode=paged-kv-$mode; fi
if [[ $mode == paged-kv-state-* ]]; then state=--kv-state; mode=paged-kv-${mode#paged-kv-state-}; fi
if [[ $mode == paged-kv-* ]]; then paged=1; mode=${mode#paged-kv-}; fi
# The artifact a run with these effc-run options takes: with paged-kv, the
# --paged-kv compile for its --kv-page-size (16 when not given).
artifact() {
  [[ -n $paged ]] || { echo "$work/cache.effc"; return; }
  local ps=16 prev=
  for a in "$@"; do [[ $prev == --kv-page-size ]] && ps=$a; prev=$a; done
  local f="$work/paged$ps$state$packed.effc" d=("${dims[@]}") pages=$((2 * ((256 + ps - 1) / ps)))
  # Packed: batch 1 (the tokens are its seq); the pool holds 2 sequences of
  # the block table's 288 positions, so 2 slots by default.
  [[ -z $packed ]] || { d[1]=batch=1; pages=$((2 * ((288 + ps - 1) / ps))); }
  [[ -f $f ]] || "$bin_dir/effc" "$model_dir/model.onnx" "${d[@]}" --paged-kv="$ps" \
    --paged-kv-pages=$pages $state $packed --remarks -o "$f" >/dev/null 2>"$f.remarks" ||
    { cat "$f.remarks" >&2; exit 1; }
  echo "$f"
}
run() {
  { env ${state:+EFFC_VERBOSE=2} "$bin_dir/effc-run" "$(artifact "$@")" --backend="$backend" \
      --generate 16 --test-data "$ref_dir/generate_0" "$@" 2>"$work/err.txt" ||
      { cat "$work/err.txt" >&2; exit 1; }; } | tee "$work/out.txt"
  [[ -z $state ]] || check_state_copies "$@"
  grep -q '^tokens: \([0-9]*\)/\1 match$' "$work/out.txt"
  expect "^engine: kv-cache mode, ${slots:-2} slots"
  # What stays in use at the end is the prefix cache's (finished prompts).
  expect '^kv pool: [0-9]* pages of [0-9]* tokens; at most [0-9]* in use .*; \([0-9]*\) in use at the end (\1 cached for prefix reuse)$'
}
# Pools in session state: every run of the target (its path) reports 4
# session-state tensors (2 layers x K/V) and copies in less than a quarter of
# one pool (llama-withpast's pools: 2 KV heads x 512 positions x 16 head dim x
# 4 bytes = 64 KiB; what comes in is ids, positions, block table, seq lens and
# slot mapping, at most ~2 KiB; without state every run copies all 4 pools).
check_state_copies() {
  local f; f=$(artifact "$@")
  python3 - "$work/err.txt" "$f" <<'PY'
import re, sys
runs = [l for l in open(sys.argv[1]) if sys.argv[2] + ": run on " in l]
assert runs, "no verbosity-2 run line of " + sys.argv[2]
quarter_pool = 2 * 512 * 16 * 4 // 4
for l in runs:
    m = re.search(r"copied (\d+) bytes in and (\d+) out, (\d+) session-state tensors", l)
    assert m and int(m.group(3)) == 4, l
    assert int(m.group(1)) < quarter_pool, "a run copied a pool in: " + l
print("state runs:", len(runs), "max bytes in", max(int(re.search(r"copied (\d+)", l).group(1)) for l in runs))
PY
}
expect() { grep -q "$1" "$work/out.txt" || { echo "expected a line matching '$1'"; exit 1; }; }
case $mode in
  repeat)
    # Two copies of a row start together: the second takes over the first's
    # pages of positions 0..14 (its last prompt token is computed for its
    # logits), pages 0-2 stay shared, page 3 is copied when it writes
    # position 15. The third copy runs after both finished: it takes the same
    # pages over from the prefix cache. Rows 0 and 1 each: 8 shared pages,
    # 2 copies; the finished rows' 16 pages stay cached (at most 26 in use).
    run --repeat 3 --kv-page-size 4
    expect '^tokens: 96/96 match$'
    expect '^shared pages: 16 (.*copy-on-write copies: 4)$'
    expect '^kv pool: 128 pages of 4 tokens; at most 26 in use'
    expect '; 16 in use at the end (16 cached for prefix reuse)$'
    run --repeat 3
    expect '^shared pages: 4 (.*copy-on-write copies: 4)$'
    expect '^kv pool: 32 pages of 16 tokens; at most 8 in use'
    run --repeat 3 --kv-page-size 4 --no-prefix-sharing
    expect '^shared pages: 0 (.*copy-on-write copies: 0)$'
    expect '^kv pool: 128 pages of 4 tokens; at most 16 in use';;
  stagger)
    run --stagger 2 --kv-page-size 8
    expect '^row 1: submitted at step 2, first token at step 2'
    expect '^preempted: 0$'
    run --stagger 7
    expect '^row 1: submitted at step 7, first token at step 7';;
  preempt)
    # 32 tokens = 8 pages of 4 per request; 10 pages hold one and a bit.
    run --stagger 2 --kv-page-size 4 --kv-pool-pages 10 --no-prefix-sharing
    expect '^preempted: [1-9]'
    expect '^kv pool: 10 pages of 4 tokens; at most 10 in use'
    run --repeat 2 --kv-page-size 4 --kv-pool-pages 12
    expect '^tokens: 64/64 match$'
    expect '^preempted: [1-9]';;
  speculate)
    run --draft "$work/cache.effc" --speculate 3 --repeat 2 --kv-page-size 4
    expect '^acceptance: 1.0000 (48 of 48 draft tokens accepted'
    expect '^shared pages: 8 '
    "$bin_dir/effc" "$(dirname "$model_dir")/gpt2/model.onnx" --dim batch=2 --dim seq=32 \
      -o "$work/gpt2.effc" >/dev/null
    run --draft "$work/gpt2.effc" --speculate 2 --stagger 1 --kv-pool-pages 5
    expect '^acceptance: ';;
  oversubscribe)
    # --max-seqs 6 over the compiled batch of 2: the 6 copies run at once,
    # each step in runs of at most 2 rows (a run of more would not fit the
    # model), so 16 steps instead of 3 waves of 16; copies share pages as
    # before. With a pool of 20 pages of 4 (8 per request) the latest
    # admitted are preempted and recomputed. Speculative decoding with the
    # target as draft, 4 at once.
    slots=6
    run --repeat 3 --max-seqs 6
    expect '^engine: kv-cache mode, 6 slots, 6 requests, 16 steps, at most 6 running at once$'
    expect '^tokens: 96/96 match$'
    run --repeat 3 --max-seqs 6 --kv-page-size 4 --kv-pool-pages 20 --no-prefix-sharing
    expect '^tokens: 96/96 match$'
    expect '^preempted: [1-9]'
    slots=4
    run --draft "$work/cache.effc" --speculate 3 --repeat 2 --max-seqs 4 --kv-page-size 4
    expect '^engine: kv-cache mode, 4 slots, 4 requests, 4 steps, at most 4 running at once$'
    expect '^acceptance: 1.0000 (48 of 48 draft tokens accepted';;
  range)
    # A batch range (1..2) instead of batch 2: Llama's attention reads the
    # batch off the past input (eff.shape), which eff-paged-kv now takes from
    # input_ids, so the model is paged (it was refused: "also read by
    # eff.shape"); runs of 1 or 2 rows (prompts apart from decode tokens), 5
    # at once over it with --max-seqs.
    dims[1]=batch=1..2
    run --repeat 3
    grep -q "paged KV: attention 1 reads 'present.1.key' and 'present.1.value' through the block table" \
      "$(artifact).remarks" || { echo "the batch-range compile is not paged"; cat "$(artifact).remarks"; exit 1; }
    expect '^tokens: 96/96 match$'
    run --stagger 2
    expect '^row 1: submitted at step 2, first token at step 2'
    # With a batch range, row 1's prompt (16 tokens) runs apart from row 0's
    # decode token at step 2: no run of 2 rows x 16 columns (its logits,
    # 2 x 16 x 256 floats = 32768 bytes, what a run copies out with state).
    if [[ -n $state ]] && grep -q ' and 32768 out' "$work/err.txt"; then
      echo "a prompt ran padded together with a decode step"; exit 1
    fi
    slots=5
    run --repeat 3 --max-seqs 5
    expect '^engine: kv-cache mode, 5 slots, 6 requests, 32 steps, at most 5 running at once$';;
  logits)
    paged=1
    "$6" "$work/cache.effc" "$(artifact --kv-page-size 4)" 4 "$backend" | tee "$work/out.txt"
    expect '^PASS$'
    expect '^paged: .* [1-9][0-9]* page references shared, [1-9][0-9]* copy-on-write copies$'
    # Split-KV (--split-kv-splits with --paged-kv): 36 splits of 2 pages, so
    # these short rows really are merged by eff.attention_combine (measured
    # <= 8e-7 of the largest logit; the checker allows 1e-4).
    "$bin_dir/effc" "$model_dir/model.onnx" "${dims[@]}" --paged-kv=4 --paged-kv-pages=128 \
      --split-kv-splits=36 -o "$work/split.effc" >/dev/null
    # Both symbolic-seq compiles' CUDA kernels (runtime extents) through NVRTC.
    for f in "$(artifact --kv-page-size 4)" "$work/split.effc"; do
      "$bin_dir/effc-nvrtc-check" "$f" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
      expect '^sm_90a: [0-9]* kernels compiled'
    done
    "$6" "$work/cache.effc" "$work/split.effc" 4 "$backend" | tee "$work/out.txt"
    expect '^PASS$';;
  fixed)
    # The GPU cases' compile (test/gpu/cases/engine-paged.txt): seq fixed at 8,
    # so every run is left-padded to 8 columns; CUDA kernels through NVRTC.
    "$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim seq=8 --dim past=0..255 \
      --dim total=1..288 --paged-kv=4 --paged-kv-pages=128 -o "$work/fixed.effc" >/dev/null
    "$bin_dir/effc-nvrtc-check" "$work/fixed.effc" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
    expect '^sm_90a: [0-9]* kernels compiled'
    for args in "--repeat 3" "--stagger 2 --kv-pool-pages 10 --no-prefix-sharing"; do
      # shellcheck disable=SC2086
      "$bin_dir/effc-run" "$work/fixed.effc" --backend="$backend" --generate 16 \
        --test-data "$ref_dir/generate_0" --kv-page-size 4 $args | tee "$work/out.txt"
      grep -q '^tokens: \([0-9]*\)/\1 match$' "$work/out.txt"
    done
    expect '^preempted: [1-9]';;
  errors)
    expect_error() { # MESSAGE ARGS...: effc-run fails and prints MESSAGE
      local message=$1; shift
      if "$bin_dir/effc-run" "$work/cache.effc" --backend="$backend" "$@" >"$work/err" 2>&1; then
        echo "expected an error: $*" >&2; cat "$work/err" >&2; exit 1
      fi
      cat "$work/err"
      grep -qF -- "$message" "$work/err" || { echo "the error does not say: $message" >&2; exit 1; }
    }
    gen=(--generate 16 --test-data "$ref_dir/generate_0")
    expect_error "row 0: prompt of 16 tokens + 16 new tokens needs 8 pages of 4 tokens; the KV pool has 7" \
      "${gen[@]}" --stagger 1 --kv-page-size 4 --kv-pool-pages 7
    expect_error "option --kv-page-size: expected an integer in 1..65536" "${gen[@]}" --repeat 1 --kv-page-size 0
    expect_error "option --kv-pool-pages: expected an integer in 0..1000000000" "${gen[@]}" --repeat 1 --kv-pool-pages -1
    expect_error "options --kv-page-size, --kv-pool-pages and --no-prefix-sharing configure the serving engine" \
      "${gen[@]}" --kv-page-size 8
    expect_error "option --max-seqs configures the serving engine" "${gen[@]}" --max-seqs 4
    expect_error "option --max-seqs: expected an integer in 1..1000000" "${gen[@]}" --repeat 1 --max-seqs 0;;
  packed)
    nopad='^runs: [0-9]* of the target, [1-9][0-9]* token positions, 0 of them padding (0.0%)$'
    run --repeat 3 --kv-page-size 4
    expect '^tokens: 96/96 match$'
    expect "$nopad"
    expect '^shared pages: 16 (.*copy-on-write copies: 4)$'
    grep -q "packed tokens: input_ids \[1, T\] holds the new tokens" "$(artifact --kv-page-size 4).remarks" ||
      { echo "the --packed-tokens compile is not packed"; cat "$(artifact --kv-page-size 4).remarks"; exit 1; }
    run --stagger 2 --kv-page-size 8
    expect '^row 1: submitted at step 2, first token at step 2'
    expect "$nopad"
    run --stagger 7
    expect '^row 1: submitted at step 7, first token at step 7'
    expect "$nopad"
    # 6 requests at once: each step's decode tokens and prompt chunks in runs
    # of at most 32 tokens (seq's bound), no padding.
    slots=6
    run --repeat 3 --max-seqs 6 --kv-page-size 4 --no-prefix-sharing
    expect '^engine: kv-cache mode, 6 slots, 6 requests, 16 steps, at most 6 running at once$'
    expect '^tokens: 96/96 match$'
    expect "$nopad"
    slots=
    run --stagger 2 --kv-page-size 4 --kv-pool-pages 10 --no-prefix-sharing
    expect '^preempted: [1-9]'
    expect "$nopad"
    run --draft "$work/cache.effc" --speculate 3 --repeat 2 --kv-page-size 4
    expect '^acceptance: 1.0000 (48 of 48 draft tokens accepted'
    expect "$nopad"
    # The pools in session state too.
    state=--kv-state
    run --stagger 2 --kv-page-size 4
    expect '^tokens: 32/32 match$'
    expect "$nopad"
    # Runs of at most 12 tokens (seq=1..12): step 0's four 16-token prompts
    # (64 tokens) go in 6 runs (12 x 5 + 4), prompts continuing in the next
    # run; then 15 steps of 4 decode tokens, one run each: 21 runs, 124
    # positions.
    "$bin_dir/effc" "$model_dir/model.onnx" --dim batch=1 --dim seq=1..12 --dim past=0..255 \
      --dim total=1..267 --paged-kv=4 --paged-kv-pages=144 --packed-tokens -o "$work/p12.effc" >/dev/null
    "$bin_dir/effc-run" "$work/p12.effc" --backend="$backend" --generate 16 --test-data \
      "$ref_dir/generate_0" --kv-page-size 4 --repeat 2 --max-seqs 4 --no-prefix-sharing | tee "$work/out.txt"
    expect '^tokens: 64/64 match$'
    expect '^runs: 21 of the target, 124 token positions, 0 of them padding (0.0%)$'
    # The batch-2 paged compile pads a step's rows to the longest (the
    # counter this mode checks is not always 0).
    state= packed=
    run --stagger 2 --kv-page-size 8
    expect '^runs: [0-9]* of the target, [0-9]* token positions, [1-9][0-9]* of them padding';;
  packed-logits)
    "$6" "$work/cache.effc" "$(artifact --kv-page-size 4)" 4 "$backend" packed | tee "$work/out.txt"
    expect '^PASS$'
    expect '^paged: .* [1-9][0-9]* page references shared, [1-9][0-9]* copy-on-write copies$'
    # Split-KV (eff.paged_attention_partial + combine) per token too.
    "$bin_dir/effc" "$model_dir/model.onnx" --dim batch=1 "${dims[@]:2}" --paged-kv=4 \
      --paged-kv-pages=144 --split-kv-splits=36 --packed-tokens -o "$work/split.effc" >/dev/null
    "$6" "$work/cache.effc" "$work/split.effc" 4 "$backend" packed | tee "$work/out.txt"
    expect '^PASS$'
    for f in "$(artifact --kv-page-size 4)" "$work/split.effc"; do
      "$bin_dir/effc-nvrtc-check" "$f" --arch=sm_80,sm_90,sm_90a | tee "$work/out.txt"
      expect '^sm_90a: [0-9]* kernels compiled'
    done
    # What the pass leaves as it is, and why.
    remarks() { "$bin_dir/effc" "$model_dir/model.onnx" "$@" --paged-kv=4 --packed-tokens --remarks \
      -o "$work/left.effc" 2>&1 >/dev/null | tee "$work/out.txt"; }
    remarks "${dims[@]}"
    expect "packed tokens: not converted: input_ids is not \[1, seq\] (compile with --dim batch=1"
    remarks --dim batch=1 --dim seq=8 --dim past=0..255 --dim total=1..288
    expect "packed tokens: not converted: input_ids' seq is fixed"
    if "$bin_dir/effc" "$model_dir/model.onnx" "${dims[@]}" --packed-tokens -o "$work/x.effc" \
      >"$work/out.txt" 2>&1; then echo "--packed-tokens without --paged-kv compiled"; exit 1; fi
    expect "effc: error: --packed-tokens needs --paged-kv=N";;
  *) echo "unknown mode $mode"; exit 2;;
esac
