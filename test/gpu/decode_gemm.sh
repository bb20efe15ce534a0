#!/usr/bin/env bash
# Decode-sized GEMMs over runtime rows on an H100/H200 (one command, about 3-4 min):
#   test/gpu/decode_gemm.sh BIN_DIR SHARED_DIR
#     BIN_DIR     effc, effc-run, effc-gemm-bench (static builds travel)
#     SHARED_DIR  the shared data (decoders/llama-withpast: part 1b)
# 1. effc-gemm-bench --rows=R: each GEMM kernel planned at M = 4096 and run
#    for R rows (grids from their runtime rules), checked against the fp32
#    reference on its R rows; rows past R must stay NaN-poisoned (nothing
#    written there): mma.sync on the lm_head shape 4096x50257x768 (N not a
#    multiple of 8), cp.async wgmma and TMA on 4096x768x3072 (MLP c_proj);
#    R = 1 and 8 take the decode path (tcg_decode_gemv), R = 100 the tiles.
#    1b: test/gpu/cases/decode-gemm.txt (staged here, run there): llama-withpast
#    bf16 at seq 1..96 with --gemm=mma / wgmma / auto against the host backend.
# 2. gpt2-base (124M) exported by bench/generate/export_withpast.py, compiled
#    bf16 --kv-state --arch=sm_90a with the batch range (--dim batch=1..8:
#    M = batch * seq up to 4096) and with batch fixed to 1 (M up to 512), and
#    fp32 with the batch range (the token check).
# 3. Per compile: the per-kernel profile of one decode step (batch 1, seq 1,
#    past 511; effc-run --verbose, top lines) and effc-run --generate 128
#    --bench 2 on a 512-token prompt (its 'generate timing:' line).
# 4. Checks: the fp32 batch-range artifact's 32 greedy tokens equal HF fp32's
#    (hf_peer.py, TF32 off; as bench/generate/run.sh); the bf16 tokens of both
#    compiles are compared position by position (a bf16 near-tie may flip one:
#    reported, not a failure); the --remarks of the batch-range compile.
# Logs: ${OUT:-/tmp}/decode-gemm. Exit 1 on any failure.
set -uo pipefail
me=decode_gemm
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# == 2 ]] || fail_setup "usage: test/gpu/decode_gemm.sh BIN_DIR SHARED_DIR"
bin=$(cd "$1" && pwd) shared=$(cd "$2" && pwd)
need_exec "$bin/effc" "$bin/effc-run" "$bin/effc-gemm-bench"
need_python numpy torch transformers onnx
need_cmd timeout
work=${EFFC_DG_DIR:-/tmp/effc-decode-gemm}
mkdir -p "$work"
start_timed decode-gemm

# The model cases (test/gpu/cases/decode-gemm.txt) staged in the background.
need_dir "$shared/decoders/llama-withpast" "decoders/llama-withpast"
stage=/tmp/decode-gemm-stage
python3 "$here/prebuilt.py" stage "$stage" "$here/cases/decode-gemm.txt" --arch sm_90a \
  --bin "$bin" --shared "$shared" >"$log/stage.log" 2>&1 &
stager=$!
# Export in the background while the GEMM checks run.
m=gpt2-base
(
  [[ -f $work/$m/meta.json ]] ||
    python3 "$root/bench/generate/export_withpast.py" --arch gpt2 --size base --out "$work/$m" \
      --no-check >"$log/export.log" 2>&1
) &
exporter=$!

say "1. effc-gemm-bench: GEMMs planned at 4096 rows, run at R rows"
bench() { # LABEL ARGS...
  local label=$1 out=$log/bench-$1.txt
  shift
  timeout 90 "$bin/effc-gemm-bench" --perf --dtypes=bf16 "$@" >"$out" 2>&1
  local line
  line=$(grep '^RESULT .*chosen=1' "$out" | head -1)
  [[ -n $line ]] || line=$(grep '^RESULT ' "$out" | head -1)
  if [[ -z $line ]] || grep -q '^RESULT .*status=FAIL' "$out" || grep -q "past the run's M" "$out"; then
    status=1
    echo "  $label: FAIL $(grep "past the run's M" "$out" | head -1) $(tail -1 "$out" | cut -c1-120)"
  else
    echo "  $label: PASS $(grep -o 'tile=[^ ]*\|tflops=[^ ]*\|ms=[^ ]*' <<<"$line" | tr '\n' ' ')"
  fi
}
for r in 1 8 100; do
  bench "mma-lmhead@$r" --problems=4096x50257x768 --rows=$r
  bench "cpasync-cproj@$r" --wgmma --cpasync --problems=4096x768x3072 --rows=$r
  bench "tma-cproj@$r" --wgmma --problems=4096x768x3072 --rows=$r
done

say "1b. llama-withpast over runtime rows on mma.sync / cp.async wgmma / auto vs the host backend"
if wait $stager; then
  python3 "$stage/prebuilt.py" run "$stage" >"$log/cases.log" 2>&1 || status=1
  sed -n '/^=== prebuilt checks/,$p' "$log/cases.log"
else
  status=1
  echo "  staging failed:" && tail -5 "$log/stage.log"
fi

say "2. export and compile gpt2-base"
wait $exporter
[[ -f $work/$m/meta.json ]] || { tail -5 "$log/export.log"; fail_setup "export of $m failed"; }
dims=(--dim seq=1..512 --dim past=0..639 --dim total=1..640 --kv-state --arch=sm_90a --embed-cubin)
"$bin/effc" "$work/$m/model.onnx" --dim batch=1..8 "${dims[@]}" --dtype=bf16 --remarks \
  -o "$work/range.effc" >"$log/effc-range.log" 2>"$log/range.remarks" &
"$bin/effc" "$work/$m/model.onnx" --dim batch=1 "${dims[@]}" --dtype=bf16 \
  -o "$work/fixed.effc" >"$log/effc-fixed.log" 2>&1 &
"$bin/effc" "$work/$m/model.onnx" --dim batch=1..8 "${dims[@]}" \
  -o "$work/range-fp32.effc" >"$log/effc-range-fp32.log" 2>&1 &
wait
for a in range fixed range-fp32; do
  [[ -f $work/$a.effc ]] || { status=1; echo "  effc $a: FAIL"; tail -3 "$log/effc-$a.log" "$log/range.remarks"; }
done
echo "  --remarks of the batch-range compile (GEMM kernels, counted):"
grep -o 'eff\.[a-z]* [0-9x]*: [^(]*' "$log/range.remarks" | sort | uniq -c | sed 's/^/    /'
python3 - "$work" <<'EOF'
import json, sys, numpy as np
work = sys.argv[1]
vocab = json.load(open(f"{work}/gpt2-base/meta.json"))["vocab"]
ids = np.random.default_rng(1234).integers(0, min(vocab, 32000), (1, 512)).astype(np.int64)
np.save(f"{work}/ids-b1.npy", ids)
EOF

say "3. one decode step (batch 1, seq 1, past 511) and --generate 128 --bench 2"
for a in range fixed; do
  [[ -f $work/$a.effc ]] || continue
  echo "--- $a: per-kernel profile of one decode step (top 12)"
  # --dim batch=1 folds the batch away: only the range compile has that dim.
  batch=(--dim batch=1); [[ $a == fixed ]] && batch=()
  timeout 120 "$bin/effc-run" "$work/$a.effc" --verbose --random-inputs 1 "${batch[@]}" --dim seq=1 \
    --dim past=511 --dim total=512 >"$log/step-$a.txt" 2>&1 || { status=1; tail -3 "$log/step-$a.txt"; }
  grep -A12 '^ *ms *%' "$log/step-$a.txt"
  grep 'total over' "$log/step-$a.txt"
  timeout 180 "$bin/effc-run" "$work/$a.effc" --generate 128 --bench 2 \
    --input "input_ids=$work/ids-b1.npy" >"$log/gen-$a.txt" 2>&1 || { status=1; tail -3 "$log/gen-$a.txt"; }
  echo "$a: $(grep '^generate timing:' "$log/gen-$a.txt")"
done

say "4. tokens"
tokens() { # FILE: the 'sequence 0:' tokens
  sed -n 's/^sequence 0: *//p' "$1" | head -1
}
r=$(tokens "$log/gen-range.txt") f=$(tokens "$log/gen-fixed.txt")
python3 - "$r" "$f" <<'EOF'
import sys
a, b = sys.argv[1].split(), sys.argv[2].split()
same = sum(x == y for x, y in zip(a, b))
prefix = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
print(f"  bf16 tokens, batch range vs batch 1: {same}/{max(len(a), len(b))} equal, common prefix {prefix}")
EOF
[[ -n $r ]] || { status=1; echo "  no bf16 tokens from the batch-range artifact"; }
if [[ -f $work/range-fp32.effc ]]; then
  python3 "$root/bench/generate/hf_peer.py" --arch gpt2 --size base --meta "$work/$m/meta.json" \
    --prompts "$work/ids-b{B}.npy" --batches 1 --new 2 --runs 1 --modes eager --fp32-tokens 32 \
    --out "$work/hf" >"$log/peer.txt" 2>"$log/peer.err" || { status=1; tail -3 "$log/peer.err"; }
  timeout 180 "$bin/effc-run" "$work/range-fp32.effc" --generate 32 --input "input_ids=$work/ids-b1.npy" \
    >"$log/gen-fp32.txt" 2>&1 || status=1
  python3 - "$work/hf/tokens-fp32.npy" "$(tokens "$log/gen-fp32.txt")" <<'EOF' || status=1
import sys, numpy as np
ref = np.load(sys.argv[1])[0].tolist() if sys.argv[1] else []
got = [int(t) for t in sys.argv[2].split()]
ok = got == ref and len(ref) == 32
print(f"  fp32 batch-range artifact vs HF fp32, 32 greedy tokens: {'PASS' if ok else 'FAIL'}"
      f" ({sum(x == y for x, y in zip(got, ref))}/{len(ref)})")
sys.exit(0 if ok else 1)
EOF
fi
echo "decode_gemm: $([[ $status == 0 ]] && echo PASS || echo FAIL) in $((SECONDS - start)) s (logs: $log)"
exit $status
