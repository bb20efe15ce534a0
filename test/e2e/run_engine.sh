#!/usr/bin/env bash
# Serving engine check of one causal LM against its greedy reference
# (effc/Engine.h, recompute mode): compile at the window [2, 32] as
# run_generate.sh does, then effc-run --generate 16 --test-data generate_0
# through the engine in MODE; every request must give its row's reference
# tokens (exit 1 otherwise).
#   test/e2e/run_engine.sh MODE DECODER_DIR BIN_DIR [BACKEND]
# MODE: stagger (row i submitted at step 2i and at step 7i), repeat (each
# row 3 times at once: 6 requests in 2 slots; with --max-seqs 1 in one,
# --max-seqs 3 an error), speculate-self (draft = the
# target, K=4: every draft accepted), speculate-bf16 (draft = the target
# compiled in bf16: some drafts rejected), speculate-other:DIR (draft = the
# decoder in DIR, which must have the same vocabulary), serve-bench (a
# six-request trace replayed with and without speculation: every output token
# counted, the latency lines printed; a request too long for the window and a
# malformed line are clear errors).
set -euo pipefail
mode=$1; model_dir=$2; bin_dir=$3; backend=${4:-host}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
compile() { "$bin_dir/effc" "$1/model.onnx" --dim batch=2 --dim seq=32 -o "$2" "${@:3}" >/dev/null; }
compile "$model_dir" "$work/model.effc"
run() {
  "$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --generate 16 \
    --test-data "$model_dir/generate_0" "$@" | tee "$work/out.txt"
  grep -q '^tokens: \([0-9]*\)/\1 match$' "$work/out.txt"
}
expect() { grep -q "$1" "$work/out.txt" || { echo "expected a line matching '$1'"; exit 1; }; }
case $mode in
  stagger)
    run --stagger 2
    expect '^row 1: submitted at step 2, first token at step 2'
    run --stagger 7
    expect '^row 1: submitted at step 7, first token at step 7';;
  repeat)
    run --repeat 3
    expect '^tokens: 96/96 match$'
    expect '^shared pages: 0 '
    # --max-seqs: fewer at once than the rows works; more is an error (a
    # request per compiled row in recompute mode).
    run --repeat 3 --max-seqs 1
    expect '^engine: recompute mode, 1 slots, 6 requests, .* at most 1 running at once$'
    if run --repeat 1 --max-seqs 3 2>"$work/err.txt"; then echo "--max-seqs 3 over 2 rows was accepted"; exit 1; fi
    grep -q "3 sequences at once: recompute mode holds one per row of the compiled batch (2)" "$work/err.txt";;
  speculate-self)
    run --draft "$work/model.effc" --speculate 4
    expect '^acceptance: 1.0000 (24 of 24 draft tokens accepted';;
  speculate-bf16)
    compile "$model_dir" "$work/draft.effc" --dtype bf16
    run --draft "$work/draft.effc" --speculate 3
    expect '^acceptance: ';;
  speculate-other:*)
    compile "${mode#speculate-other:}" "$work/draft.effc"
    run --draft "$work/draft.effc" --speculate 2 --stagger 1
    expect '^acceptance: ';;
  serve-bench)
    printf '# ARRIVAL_S PROMPT_LEN OUTPUT_LEN\n0 8 16\n0.001 4 8\n0.002 12 12\n0.05 16 16\n0.05 2 4\n0.1 10 20\n' \
      > "$work/trace.txt"
    for draft in "" "--draft $work/model.effc --speculate 3"; do
      # shellcheck disable=SC2086
      "$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --serve-bench "$work/trace.txt" \
        $draft | tee "$work/out.txt"
      expect '^serve-bench: 6 requests, 76 output tokens in '
      expect '^throughput: [0-9.]* output tokens/s, [0-9.]* requests/s$'
      expect '^time to first token ms: mean [0-9.]* p50 [0-9.]* p90 [0-9.]* p99 [0-9.]* max [0-9.]* (6 samples)$'
      expect '^inter-token latency ms: .*(70 samples)$'
      expect '^end-to-end latency ms: .*(6 samples)$'
    done
    expect '^acceptance: 1.0000 '
    printf '0 8 8\n0.5 30 8\n' > "$work/long.txt"
    if "$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --serve-bench "$work/long.txt" \
         2> "$work/err.txt"; then echo "a too-long request was accepted"; exit 1; fi
    grep -q "long.txt:2: prompt 30 + output 8 tokens exceed the model's 32 positions" "$work/err.txt"
    printf '0 x 8\n' > "$work/bad.txt"
    if "$bin_dir/effc-run" "$work/model.effc" --backend="$backend" --serve-bench "$work/bad.txt" \
         2> "$work/err.txt"; then echo "a malformed trace was accepted"; exit 1; fi
    grep -q "bad.txt:1: expected ARRIVAL_S" "$work/err.txt";;
  *) echo "unknown mode $mode"; exit 2;;
esac
