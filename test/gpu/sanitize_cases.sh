#!/usr/bin/env bash
# compute-sanitizer (memcheck by default) over the kernel families that came
# after compute_sanitizer.sh's list: FlashAttention-2 and split-KV with runtime
# extents, runtime-extent elementwise/norm/gemm kernels, paged attention, the
# MoE stage kernels (decode GEMV, prefill grouped GEMM, partitions on streams),
# quant_linear_mma (prefill) and the decode GEMVs. The cases are picked by name
# from test/gpu/cases/*.txt (one definition each), staged on this machine with
# test/gpu/stage_there.sh and run with EFFC_CUDA_GRAPH=0 under the tool, so
# every launch is checked alone. A case fails on any sanitizer error
# (--error-exitcode) as on a wrong result.
#   test/gpu/sanitize_cases.sh BIN_DIR SHARED_DIR ARCH [TOOL]
#     TOOL  memcheck (default), racecheck, synccheck or initcheck
#     EFFC_SANITIZER  default /usr/local/cuda/bin/compute-sanitizer
set -uo pipefail
me=sanitize_cases
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ $# -ge 3 ]] || { echo "usage: test/gpu/sanitize_cases.sh BIN_DIR SHARED_DIR ARCH [TOOL]" >&2; exit 2; }
bin=$1 shared=$2 arch=$3 tool=${4:-memcheck}
sanitizer=${EFFC_SANITIZER:-/usr/local/cuda/bin/compute-sanitizer}
[[ -x $sanitizer ]] || { echo "sanitize_cases: no compute-sanitizer at $sanitizer (EFFC_SANITIZER)" >&2; exit 1; }
names=(fa2-prefill16-bf16 split-decode1-past130-bf16 seq-decode1 seq-prefill16-pad
       paged-attn-small paged-attn-large
       moes-mixtral-decode1x4 moes-mixtral-2x64-bf16 moes-qwen3moe-2x64-bf16 moe-part4-mixtral-bf16
       effc-nf4-llama-prefill-fp16 effc-int8b32-llama-bf16 effc-int8-llama-decode
       effc-llmint8-llama-decode effc-nf4-gpt2-decode-bf16)
list=$(mktemp --suffix=.txt)
trap 'rm -f "$list"' EXIT
pick_cases "$list" "${names[@]}"
cp "$list" "${TMPDIR:-/tmp}/sanitize-$tool.txt"
EFFC_CUDA_GRAPH=0 EFFC_PREBUILT_TIMEOUT=${EFFC_PREBUILT_TIMEOUT:-240} \
  EFFC_PREBUILT_WRAP="$sanitizer --tool $tool --error-exitcode 9" \
  "$here/stage_there.sh" "$bin" "$shared" "$arch" "${TMPDIR:-/tmp}/sanitize-$tool.txt"
