#!/usr/bin/env bash
# Split-KV decode over a runtime-length KV (issue 14, host backend):
# ../shared/decoders/llama-withpast in bf16 compiled once with --dim
# seq=1..16 --dim past=0..255 and --split-kv-splits=3 (every attention
# becomes eff.attention_partial + eff.attention_combine with symbolic
# shapes; each run cuts its own keys by splitKvChunk at past + seq) runs
# test_data_set_0 and (past, seq) = (0, 16), (16, 1), (255, 1), (5, 3),
# (130, 2) against unsplit compiles with those dims fixed (bf16, rtol 2e-2:
# the split and the whole attention round differently). The same artifact's
# kernels (FA2-free: the split-KV partial and combine kernels with effc_dims)
# compile with NVRTC for sm_80, sm_90 and sm_90a.
#   test/e2e/run_bounded_split_kv.sh DECODER_DIR BIN_DIR
set -euo pipefail
model_dir=$1; bin_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
effc=("$bin_dir/effc" "$model_dir/model.onnx" --dtype=bf16 --dim batch=2)
"${effc[@]}" --dim seq=1..16 --dim past=0..255 --dim total=1..271 --split-kv-splits=3 \
  --remarks -o "$work/split.effc" 2>"$work/remarks"
n=$(grep -c "split attention: num_splits=3, keys per split cut at run time" "$work/remarks")
[ "$n" = 2 ] || { echo "expected 2 split attentions, got $n" >&2; cat "$work/remarks" >&2; exit 1; }
"$bin_dir/effc-nvrtc-check" "$work/split.effc" --arch=sm_80,sm_90,sm_90a
run=("$bin_dir/effc-run" --backend=host)
"${run[@]}" "$work/split.effc" --test-data "$model_dir/test_data_set_0" --rtol 2e-2

inputs_of() { # DIR -> --input NAME=DIR/NAME.npy ...
  for f in "$1"/*.npy; do n=$(basename "$f" .npy); printf -- '--input\n%s=%s\n' "$n" "$f"; done
}
for ps in 0:16 16:1 255:1 5:3 130:2; do
  past=${ps%:*}; seq=${ps#*:}
  python3 "$here/withpast_inputs.py" "$past" "$seq" "$work/in$ps"
  mapfile -t args < <(inputs_of "$work/in$ps")
  "${effc[@]}" --dim seq=$seq --dim past=$past --dim total=$((past + seq)) --split-kv-decode=false \
    -o "$work/fixed$ps.effc" >/dev/null
  mkdir "$work/ref$ps"
  "${run[@]}" "$work/fixed$ps.effc" "${args[@]}" --save-test-data "$work/ref$ps" >/dev/null
  echo "past=$past seq=$seq:"
  "${run[@]}" "$work/split.effc" --test-data "$work/ref$ps" --rtol 2e-2
done
