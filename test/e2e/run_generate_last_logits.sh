#!/usr/bin/env bash
# effc --last-logits (passes/LastLogits.cpp, issue 14) on the host backend:
# the LM head runs only at the position the new input logits_index names
# per row (logits [batch, 1, vocab]); the Generator's KV-cache loop feeds
# each sequence's last prompt token in the prefill (its chunk and position:
# ragged prompts end at other ones) and 0 in a step. The decoder compiled
# with symbolic seq/past/total (prompt in one run and in chunks of <= 5)
# must reproduce REFERENCE_DIR/generate_0 (32/32 greedy tokens) with the
# logits line of the same compile without --last-logits, and prompts of
# different lengths in one batch (--prompt-lengths, greedy: the picks path)
# must give each prompt's tokens alone, as the compile without it does.
# The artifact's CUDA compiles with NVRTC for sm_80, sm_90 and sm_90a.
#   test/e2e/run_generate_last_logits.sh MODEL_DIR REFERENCE_DIR BIN_DIR cuda|host-only [effc args...]
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
# Prompts: rows of 16 ids below 256 (the shared decoders' vocabulary), and
# each row's prefixes alone.
python3 - "$work" <<'EOF'
import sys
import numpy as np
work = sys.argv[1]
ids = np.random.default_rng(14).integers(1, 256, size=(2, 16)).astype(np.int64)
np.save(f"{work}/ids.npy", ids)
for b in range(2):
    for n in (3, 9, 16):
        np.save(f"{work}/ids{b}-{n}.npy", ids[b:b + 1, :n])
EOF
for seq in 32 5; do
  "${effc[@]}" --dim "seq=1..$seq" --last-logits --remarks -o "$work/last$seq.effc" 2>"$work/remarks"
  grep -q "'logits' computed at input 'logits_index' only: 'tensor<2x1x" "$work/remarks" ||
    { cat "$work/remarks" >&2; echo "no eff-last-logits remark" >&2; exit 1; }
  "${effc[@]}" --dim "seq=1..$seq" -o "$work/all$seq.effc"
  for a in last all; do
    "${run[@]}" "$work/$a$seq.effc" --generate 16 --test-data "$ref_dir/generate_0" | tee "$work/$a.out"
    grep -q '^tokens: 32/32 match$' "$work/$a.out"
  done
  diff <(grep '^output logits' "$work/last.out") <(grep '^output logits' "$work/all.out")
  for lengths in 16,9 3,16; do
    IFS=, read -r n0 n1 <<<"$lengths"
    for a in last all; do
      "${run[@]}" "$work/$a$seq.effc" --generate 8 --input "input_ids=$work/ids.npy" \
        --prompt-lengths "$lengths" >"$work/both-$a"
      for b in 0 1; do
        n=$([[ $b == 0 ]] && echo "$n0" || echo "$n1")
        "${run[@]}" "$work/$a$seq.effc" --generate 8 --input "input_ids=$work/ids$b-$n.npy" |
          sed "s/^sequence 0:/sequence $b:/" >>"$work/alone-$a"
      done
      echo "seq 1..$seq, $a, prompts of $lengths tokens:"
      cat "$work/both-$a"
      diff "$work/both-$a" "$work/alone-$a"
      rm "$work/alone-$a"
    done
    diff "$work/both-last" "$work/both-all"
  done
done
if [ "$target" = cuda ]; then
  "$bin_dir/effc-nvrtc-check" "$work/last32.effc" --arch=sm_80,sm_90,sm_90a
fi
