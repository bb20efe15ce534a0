#!/usr/bin/env bash
# One artifact for every past length (issue 14 stages S1 and S3, host
# backend): ../shared/decoders/llama-withpast compiled once with --dim
# past=0..255 (total = past + seq within 3..258; every kernel also has its
# CUDA kernel with runtime extents) runs test_data_set_0 (past 5) and past
# 0, 1, 17 and 255 against a compile with that past fixed (the same inputs,
# its outputs saved as the reference); past 256 is refused with the bounds.
# Then seq symbolic too (--dim seq=1..32 --dim total=1..288, what generation
# on withpast models runs: prefill 16, decode steps of 1) against fixed
# compiles at (past, seq) = (0, 16), (16, 1), (255, 1), (5, 3).
#   test/e2e/run_bounded_past.sh DECODER_DIR BIN_DIR
set -euo pipefail
model_dir=$1; bin_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
effc=("$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim seq=3)
"${effc[@]}" --dim past=0..255 --dim total=3..258 -o "$work/bounded.effc"
run=("$bin_dir/effc-run" --backend=host)

"${run[@]}" "$work/bounded.effc" --test-data "$model_dir/test_data_set_0"

inputs_of() { # DIR -> --input NAME=DIR/NAME.npy ...
  for f in "$1"/*.npy; do n=$(basename "$f" .npy); printf -- '--input\n%s=%s\n' "$n" "$f"; done
}
for past in 0 1 17 255; do
  python3 "$here/withpast_inputs.py" "$past" 3 "$work/in$past"
  mapfile -t args < <(inputs_of "$work/in$past")
  "${effc[@]}" --dim past=$past --dim total=$((past + 3)) -o "$work/fixed$past.effc" >/dev/null
  mkdir "$work/ref$past"
  "${run[@]}" "$work/fixed$past.effc" "${args[@]}" --save-test-data "$work/ref$past" >/dev/null
  echo "past=$past:"
  "${run[@]}" "$work/bounded.effc" --test-data "$work/ref$past"
done

# (the mask stays within total's bounds, so the error is about past)
python3 "$here/withpast_inputs.py" 256 3 "$work/in256" 258
mapfile -t args < <(inputs_of "$work/in256")
if "${run[@]}" "$work/bounded.effc" "${args[@]}" >"$work/out256" 2>&1; then
  echo "past=256 ran, but it is outside the bounds 0..255" >&2; exit 1
fi
grep -F "dim 2 'past' = 256 is outside 0..255 (compiled with --dim past=0..255)" "$work/out256"

"$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim seq=1..32 --dim past=0..255 \
  --dim total=1..288 -o "$work/seq.effc"
"${run[@]}" "$work/seq.effc" --test-data "$model_dir/test_data_set_0"
for ps in 0:16 16:1 255:1 5:3; do
  past=${ps%:*}; seq=${ps#*:}
  python3 "$here/withpast_inputs.py" "$past" "$seq" "$work/seq-in$ps"
  mapfile -t args < <(inputs_of "$work/seq-in$ps")
  "$bin_dir/effc" "$model_dir/model.onnx" --dim batch=2 --dim seq=$seq --dim past=$past \
    --dim total=$((past + seq)) -o "$work/seq-fixed$ps.effc" >/dev/null
  mkdir "$work/seq-ref$ps"
  "${run[@]}" "$work/seq-fixed$ps.effc" "${args[@]}" --save-test-data "$work/seq-ref$ps" >/dev/null
  echo "past=$past seq=$seq:"
  "${run[@]}" "$work/seq.effc" --test-data "$work/seq-ref$ps"
done
