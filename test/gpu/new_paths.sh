#!/usr/bin/env bash
# One device call over the paths that have not yet run on a GPU (session 16,
# 2026-12-06: no machine could be started): prebuilt cases picked by name from
# test/gpu/cases (--kv-cache decoders, the session cache buffers of KV-cache
# generation, --paged-kv with symbolic seq and split-KV, the decode GEMVs
# quant_linear_gemv_mma(_bs), the MoE kernels' new defaults, runtime-extent
# attention), the sm_90a TMA GEMM artifacts (wgmma-models.txt, EFFC_VERBOSE=1
# counts the kernels taking tensor maps), then gpt2-base generation timing
# (bench/generate/run.sh, batch 1, HF eager as the peer in the same run).
# Session 17 (2026-12-07, no machine could be started either) added: the
# session-state KV cache (test/gpu/state_kv.sh, paged-kv-state-* cases),
# sliding windows (kv-cache-gemma3-window-*, paged-kv-gemma3-window-*: made
# from zoo/gemma3-dynamo when SHARED_DIR has it) and the TMA GEMM over
# runtime rows (cases/wgmma-symbolic.txt, staged with wgmma-models.txt);
# the gpt2-base timing also runs a --kv-state compile of the same export.
#   test/gpu/new_paths.sh BIN_DIR SHARED_DIR
#     BIN_DIR     effc, effc-run (stripped static builds travel)
#     SHARED_DIR  decoders/, models/{llama,gpt2,mixtral,bert}-dynamo,
#                 models/opt-legacy, zoo/{qwen3moe,deepseek_v3}-dynamo, quant/,
#                 zoo/gemma3-dynamo (optional: the window cases)
#   env: BEFORE_BIN (an effc-run to time against on the same artifact),
#        GEN=0 (no timing), T_CASES (s, 170), T_GEN (s, 130). Logs: $OUT.
# Exit 1 when any case fails.
set -uo pipefail
me=new_paths
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
repo=$(cd "$here/../.." && pwd)
[[ $# == 2 ]] || { echo "usage: test/gpu/new_paths.sh BIN_DIR SHARED_DIR" >&2; exit 2; }
bin=$1 shared=$2
out=${OUT:-/tmp}/new-paths; mkdir -p "$out"
names=(gen-gpt2 gen-llama-withpast gen-gpt2-kv-cache gen-gpt2-kv-cache-bf16-tf gen-llama-kv-cache
       gen-llama-kv-cache-bf16-tf gen-mixtral gen-withpast-tf seq-decode1 past-17-bf16
       paged-llama-stagger paged-kv-llama-repeat paged-kv-llama-stagger paged-kv-llama-preempt
       paged-kv-llama-spec-self paged-kv-sym-repeat paged-kv-sym-stagger paged-kv-sym-split
       effc-int8-llama-decode effc-nf4-llama-decode effc-int8-llama-decode-bf16
       effc-int8b32-llama-decode-fp16 effc-nf4d-llama-decode-bf16 effc-nf4-gpt2-decode-bf16
       effc-llmint8-llama-decode ort-llama-nbits4-bf16 moes-mixtral-decode1x4
       moes-mixtral-2x64-bf16 moes-qwen3moe-2x64-bf16 moes-deepseek-2x16-bf16
       fa2-decode1-past255-bf16 split-decode1-past130-bf16 paged-attn-large
       paged-kv-state-repeat paged-kv-state-stagger paged-kv-state-preempt paged-kv-state-split
       paged-kv-state-spec-self)
if [[ -d $shared/zoo/gemma3-dynamo ]] &&
  python3 "$repo/test/e2e/make_generate_ref.py" "$shared/zoo/gemma3-dynamo" "$bin" 16 \
    "$shared/zoo/gemma3-window" > "$out/gemma3-window.log" 2>&1; then
  names+=(kv-cache-gemma3-window-generate kv-cache-gemma3-window-stagger2
          kv-cache-gemma3-window-stagger5 paged-kv-gemma3-window-repeat
          paged-kv-gemma3-window-stagger paged-kv-gemma3-window-preempt paged-kv-gemma3-window-split)
else
  echo "$me: no zoo/gemma3-window (zoo/gemma3-dynamo missing or make_generate_ref.py failed): window cases not run"
fi
pick=$out/picked.txt
pick_cases "$pick" "${names[@]}"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
status=0 t=$SECONDS
EFFC_STAGE_DIR=/tmp/np-90a EFFC_VERBOSE=1 timeout "${T_CASES:-170}" "$here/stage_there.sh" "$bin" "$shared" \
  sm_90a "$here/cases/wgmma-models.txt" "$here/cases/wgmma-symbolic.txt" > "$out/wgmma.log" 2>&1 &
tma=$!
OUT=$out timeout "${T_CASES:-170}" "$here/state_kv.sh" "$bin" "$shared" > "$out/state-kv.log" 2>&1 &
state=$!
EFFC_STAGE_DIR=/tmp/np-90 timeout "${T_CASES:-170}" "$here/stage_there.sh" "$bin" "$shared" sm_90 "$pick" \
  > "$out/cases.log" 2>&1 || status=1
wait $tma || status=1
wait $state || { status=1; echo "state_kv.sh failed: $out/state-kv.log"; }
echo "== ${#names[@]} picked cases (sm_90) and wgmma-models (sm_90a): $((SECONDS - t)) s"
grep -hE "^[a-z0-9-]+ +(PASS|FAIL) |of .* pass|staging .* failed" "$out/cases.log" "$out/wgmma.log" | cut -c1-170
echo "kernels with TMA tensor maps (EFFC_VERBOSE lines): $(grep -c 'tensor map' "$out/wgmma.log")"
if [[ ${GEN:-1} == 1 ]]; then
  t=$SECONDS
  export EFFC_GEN_DIR=/tmp/np-gen
  EFFC_GEN_MODELS=gpt2-base EFFC_GEN_BATCHES=1 EFFC_GEN_HF_COMPILE=0 EFFC_GEN_RUNS=2 \
    timeout "${T_GEN:-130}" bash "$repo/bench/generate/run.sh" "$bin" > "$out/gen.log" 2>&1 || status=1
  echo "== generate bench: $((SECONDS - t)) s"; tail -12 "$out/gen.log"
  # The same export with the cache in session state (effc --kv-state), the
  # bench's dims and flags otherwise.
  timeout 120 "$bin/effc" "$EFFC_GEN_DIR/gpt2-base/model.onnx" --dim batch=1..8 --dim seq=1..512 \
    --dim past=0..639 --dim total=1..640 --dtype=bf16 --embed-cubin --arch=sm_90a --kv-state \
    -o "$EFFC_GEN_DIR/gpt2-base-bf16-state.effc" > "$out/gen-state.log" 2>&1 || status=1
  for art in gpt2-base-bf16 gpt2-base-bf16-state; do
    for run in ${BEFORE_BIN:-} "$bin/effc-run"; do
      [[ $art == *-state && $run != "$bin/effc-run" ]] && continue
      echo "--- $run, $art batch 1, 128 new tokens"
      timeout 30 "$run" "$EFFC_GEN_DIR/$art.effc" --backend=cuda --generate 128 --bench 2 \
        --input input_ids="$EFFC_GEN_DIR/ids-gpt2-base-b1.npy" 2>&1 | grep -E '^generate timing|rror' | head -3
    done
  done
fi
exit $status
