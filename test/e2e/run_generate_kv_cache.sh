#!/usr/bin/env bash
# effc --kv-cache (passes/KvCache.cpp) on a decoder exported without a cache:
# the artifact takes attention_mask, position_ids and past_key_values.{i}.*
# and returns present.{i}.*, so effc-run --generate drives it in KV-cache
# mode (runtime/src/PastStepModel.cpp). It must reproduce the decoder's
# generate_0: HF's 32 greedy tokens and every step's logits within 1e-4,
# greedy and teacher-forced, with the prompt prefilled in one run (seq <= 32)
# and in chunks over a non-empty cache (seq <= 5: 5+5+5+1, then one-token
# steps). A request past the cache bound is the KV-cache mode's error. The
# serving engine (PagedSlotModel: pages, rows submitted 5 steps apart)
# drives the same artifact to HF's tokens. Prompts of different lengths in
# one run (right padding masked by attention_mask, per-sequence
# position_ids), prefill and a decode step: kv_cache_padding.py compares
# each row with the model compiled without a cache run on that row alone.
# TARGET cuda: the artifacts carry CUDA kernels, which NVRTC compiles for
# sm_80, sm_90 and sm_90a; host-only: --host-only (MoE decoders: top_k over
# a runtime extent has no CUDA kernel yet, issue 14 stage S3).
#   test/e2e/run_generate_kv_cache.sh DECODER_DIR BIN_DIR cuda|host-only [effc args...]
set -euo pipefail
model_dir=$1; bin_dir=$2; target=$3; shift 3
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
effc=("$bin_dir/effc" "$model_dir/model.onnx" --kv-cache --dim batch=2 --dim past=0..255
      --dim total=1..288)
case "$target" in
  cuda) ;;
  host-only) effc+=(--host-only) ;;
  *) echo "TARGET must be cuda or host-only, got '$target'" >&2; exit 1 ;;
esac
run=("$bin_dir/effc-run" --backend=host)
for seq in 32 5; do
  "${effc[@]}" --dim "seq=1..$seq" -o "$work/kv$seq.effc" "$@"
  "${run[@]}" "$work/kv$seq.effc" --generate 16 --test-data "$model_dir/generate_0" | tee "$work/out"
  grep -q '^tokens: 32/32 match$' "$work/out"
done
"${run[@]}" "$work/kv32.effc" --generate 16 --test-data "$model_dir/generate_0" --teacher-forcing
"${run[@]}" "$work/kv32.effc" --generate 16 --test-data "$model_dir/generate_0" --stagger 5 |
  tee "$work/out"
grep -q '^tokens: 32/32 match$' "$work/out"

# 16 + 241 tokens: past would reach 256 > 255 (only the KV-cache mode says so).
if "${run[@]}" "$work/kv32.effc" --generate 241 \
    --input "input_ids=$model_dir/generate_0/input_0.pb" >"$work/err" 2>&1; then
  echo "expected the cache-bound error" >&2; exit 1
fi
cat "$work/err"
grep -qF "exceeds the model's 256 positions (the KV cache holds past <= 255 tokens" "$work/err"
mkdir "$work/padding"
python3 "$(dirname "$0")/kv_cache_padding.py" "$model_dir" "$bin_dir" "$work/padding"

if [ "$target" = cuda ]; then
  "$bin_dir/effc-nvrtc-check" "$work/kv32.effc" --arch=sm_80,sm_90,sm_90a
fi
