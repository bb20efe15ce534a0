#!/usr/bin/env bash
# KV cache kept in session state (effc --kv-state, issue 14 S4) on the host
# backend: the decoder (a with-past export, or one without a cache given
# --kv-cache) compiled with symbolic seq/past/total keeps each cache in one
# session-owned buffer of capacity rows that every run appends to in place;
# past_key_values.* are no inputs and present.* no outputs
# (PastCacheFeed::StateBound). It must reproduce REFERENCE_DIR/generate_0
# (32/32 greedy tokens, step logits within 1e-4, teacher-forced too, the
# prompt in one run and in chunks of <= 5 over the cache) with exactly the
# logits error of the same compile without --kv-state (the contiguous cache
# fed back each run). Under --dtype=bf16 the cache is kept in bf16 (the
# fp32 interface casts are gone) with the logits of the bf16 compile
# without --kv-state, teacher-forced. Serving (the paged engine) refuses such an artifact.
# TARGET cuda: the artifacts carry CUDA kernels (the append into the state,
# attention with its slice stride), which NVRTC compiles for sm_80, sm_90 and
# sm_90a; host-only: --host-only (MoE decoders).
#   test/e2e/run_generate_kv_state.sh MODEL_DIR REFERENCE_DIR BIN_DIR cuda|host-only [effc args...]
set -euo pipefail
model_dir=$1; ref_dir=$2; bin_dir=$3; target=$4; shift 4
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
effc=("$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim past=0..255 --dim total=1..288
      "$@")
case "$target" in
  cuda) ;;
  host-only) effc+=(--host-only) ;;
  *) echo "TARGET must be cuda or host-only, got '$target'" >&2; exit 1 ;;
esac
run=("$bin_dir/effc-run" --backend=host)
data=(--generate 16 --test-data "$ref_dir/generate_0")
for seq in 32 5; do
  "${effc[@]}" --dim "seq=1..$seq" --kv-state --remarks -o "$work/state$seq.effc" 2>"$work/remarks"
  grep -c "kept in session state of [0-9]* rows" "$work/remarks" | grep -qv '^0$' ||
    { cat "$work/remarks" >&2; echo "no cache was placed in session state" >&2; exit 1; }
  if grep "not kept in session state" "$work/remarks"; then exit 1; fi
  "${effc[@]}" --dim "seq=1..$seq" -o "$work/plain$seq.effc"
  "${run[@]}" "$work/state$seq.effc" "${data[@]}" | tee "$work/state.out"
  "${run[@]}" "$work/plain$seq.effc" "${data[@]}" >"$work/plain.out"
  grep -q '^tokens: 32/32 match$' "$work/state.out"
  # The same arithmetic: the logits line (errors against HF) is identical.
  diff <(grep '^output logits' "$work/state.out") <(grep '^output logits' "$work/plain.out")
done
"${run[@]}" "$work/state32.effc" "${data[@]}" --teacher-forcing | tee "$work/tf.out"
grep -q 'output logits: .* PASS' "$work/tf.out"
if "${run[@]}" "$work/state32.effc" "${data[@]}" --stagger 5 >"$work/err" 2>&1; then
  echo "expected the engine to refuse session state" >&2; exit 1
fi
cat "$work/err"
grep -qF "the artifact keeps its KV cache in session state (one sequence set per session): compile it without --kv-state" \
  "$work/err"
# bf16: the state holds bf16 rows, which is what the plain compile's casts
# round the fp32 interface to, so the logits are the same.
"${effc[@]}" --dim seq=1..32 --dtype=bf16 --kv-state --remarks -o "$work/state-bf16.effc" \
  2>"$work/remarks"
grep -q "kept in session state of" "$work/remarks"
"${effc[@]}" --dim seq=1..32 --dtype=bf16 -o "$work/plain-bf16.effc"
for a in state plain; do # bf16's error against HF's fp32 logits may exceed 1e-4: compare lines
  "${run[@]}" "$work/$a-bf16.effc" "${data[@]}" --teacher-forcing --rtol 1 --row-rtol 1 \
    >"$work/$a-bf16.out" || true
  grep '^output logits' "$work/$a-bf16.out" | tee "$work/$a-bf16.line"
done
[ -s "$work/state-bf16.line" ]
diff "$work/state-bf16.line" "$work/plain-bf16.line"
if [ "$target" = cuda ]; then
  "$bin_dir/effc-nvrtc-check" "$work/state32.effc" --arch=sm_80,sm_90,sm_90a
fi
