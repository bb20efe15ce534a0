#!/usr/bin/env bash
# bench/serve/run.sh without a GPU, so the serving benchmark cannot rot: its
# workload generation (make_workload.py), the four effc compiles (paged with
# session-state pools, paged, packed tokens with session-state pools in runs
# of up to 8 tokens, unpaged) of WITHPAST_DIR with batch 1..2 (packed: 1) and
# 3 requests at once (--max-seqs),
# effc-run --serve-bench on the host backend at two arrival rates (gather on
# the first 4 requests),
# speculative decoding at batch 1 (the target as draft and as the "small"
# draft: acceptance 1) and report.py's tables. No HF peer (no torch here).
#   test/e2e/run_bench_serve_smoke.sh WITHPAST_DIR BIN_DIR
set -euo pipefail
model_dir=$1; bin_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
EFFC_SERVE_ONNX=$model_dir EFFC_SERVE_DRAFT_ONNX=$model_dir EFFC_SERVE_PEER=none EFFC_SERVE_BACKEND=host \
  EFFC_SERVE_DTYPE=fp32 EFFC_SERVE_REQUESTS=6 EFFC_SERVE_PROMPT="4 24" EFFC_SERVE_OUTPUT="2 8" \
  EFFC_SERVE_RATES="inf 50" EFFC_SERVE_BATCH=2 EFFC_SERVE_MAX_SEQS=3 EFFC_SERVE_SEQ=8 EFFC_SERVE_PACKED_SEQ=8 EFFC_SERVE_PAGE=4 EFFC_SERVE_SPEC_K=2 \
  EFFC_SERVE_SPEC_REQUESTS=2 EFFC_SERVE_SPEC_PROMPT=8 EFFC_SERVE_SPEC_NEW=8 EFFC_SERVE_TIMEOUT=120 EFFC_SERVE_GATHER_REQUESTS=4 \
  EFFC_SERVE_DIR=$work/work OUT=$work/out bash "$here/../../bench/serve/run.sh" "$bin_dir" 2>&1 | tee "$work/log.txt"
expect() { grep -q -- "$1" "$work/log.txt" || { echo "expected a line matching '$1'" >&2; exit 1; }; }
# The paged and packed variants at both rates: 6 requests, all 3 slots used
# at once when they arrive together, a waste figure, the runs' padding (none
# packed; the batch-2 compiles pad the 3 ragged requests arriving at once);
# gather beside paged-state on the first 4 requests.
for rate in inf 50; do
  for v in paged-state paged; do
    expect "^ *$rate $v  *[0-9.]*  *[0-9.]*  *[0-9.]* .* [0-9.]*  *[0-9.]*  *0  *[0-9.]*  *?$"
  done
  expect "^ *$rate packed-state  *[0-9.]*  *[0-9.]*  *[0-9.]* .* [0-9.]*  *[0-9.]*  *0  *0\.0  *?$"
done
expect '^ *inf paged-state .* 3  *[0-9.]*  *[0-9.]*  *0  *[1-9][0-9.]*  *?$'
expect '^ *inf packed-state .* 3  *[0-9.]*  *[0-9.]*  *0  *0\.0  *?$'
expect '^ *first paged-state .* 3  *[0-9.]*  *[0-9.]*  *0  *[0-9.]*  *1.00x$'
expect '^ *first gather .* 3  *[0-9.]*  *[0-9.]*  *0  *[0-9.?]*  *[0-9.]*x$'
grep -q 'packed tokens: input_ids \[1, T\] holds the new tokens' "$work"/out/bench-serve/serve-packed-state.effc.log
grep -q '^serve-bench: 4 requests, ' "$work"/out/bench-serve/serve-gather-cmp.txt
expect '^ *2 draft  *1.000 '
expect '^ *2 self  *1.000 '
grep -c '^serve-bench: 6 requests, ' "$work"/out/bench-serve/serve-*-{inf,50}.txt | grep -v ':1$' && exit 1
expect '^bench_serve: all runs passed$'
