#!/usr/bin/env bash
# Numerics of the kernels the codegen lit tests (test/lit/codegen/*.test)
# check only as CUDA text: every `effc ... --emit=cuda` RUN line's input and
# options is compiled to an artifact, run on the host backend (the reference
# semantics) with pseudo-random inputs (effc-run --random-inputs, several
# seeds: integer inputs such as lora_index take -1, 0 and 1), saved as test
# data (--save-test-data) and compared on BACKEND (effc-run --test-data: max
# and per-row error, top-1).
#
#   test/gpu/check_codegen.sh BIN_DIR [BACKEND]
#     BIN_DIR  effc and effc-run (static builds carried from the dev machine)
#     BACKEND  cuda (default); host compares the host backend with itself,
#              which checks this script (parsing, compiling, running) on a
#              machine without a GPU
# Tolerances (max_rel_err; per row 4x): fp32 1e-4, fp16 2e-3, bf16 1e-2: the
# host rounds 16-bit intermediates as the kernels do, so what is left is fp32
# summation order and one 16-bit rounding of the result.
# Prints a table last; exits 1 if any case fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:?usage: check_codegen.sh BIN_DIR [BACKEND]}
backend=${2:-cuda}
seeds=(1 2 3 4 5 6) # lora-epilogue's lora_index [2] gets each of -1, 0, 1 in both places
lit_dir=$repo/test/lit
for tool in effc effc-run; do
  [[ -x $bin_dir/$tool ]] || { echo "check_codegen: missing executable $bin_dir/$tool" >&2; exit 1; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# split_file TEST DIR: the `#--- NAME` / `//--- NAME` sections of TEST as DIR/NAME
# (what lit's split-file does for %t).
split_file() {
  awk -v dir="$2" '
    /^(#|\/\/)--- / { out = dir "/" $2; printf "" > out; next }
    out != "" { print >> out }' "$1"
}

# effc command lines (input + options, without --emit=cuda) of TEST's RUN lines.
effc_runs() {
  sed -n 's/^\(#\|\/\/\) *RUN: *effc \(.*\)$/\2/p' "$1" | sed 's/ *|.*$//; s/ *--emit=cuda//'
}

rows=() # "case|options|seeds|max_rel_err|row_rel_err|status"
failed=0
declare -A seen=()
tests=("$lit_dir"/codegen/*.test)
[[ ${#tests[@]} -gt 0 && -f ${tests[0]} ]] || { echo "check_codegen: no tests in $lit_dir/codegen" >&2; exit 1; }
for test in "${tests[@]}"; do
  name=$(basename "$test" .test)
  tdir=$work/$name; mkdir -p "$tdir"
  split_file "$test" "$tdir"
  n=0
  while IFS= read -r line; do
    cmd=${line//%t/$tdir}; cmd=${cmd//%inputs/$lit_dir/Inputs}; cmd=${cmd//%s/$test}
    if [[ $cmd == *%* ]]; then
      echo "check_codegen: $test: unknown lit substitution in: $line" >&2; exit 1
    fi
    read -r -a args <<<"$cmd"
    key="${args[*]}"
    [[ -n ${seen[$key]:-} ]] && continue # the same kernels under another FileCheck prefix
    seen[$key]=1
    n=$((n + 1))
    case_dir=$tdir/case$n; mkdir -p "$case_dir"
    options="${args[*]:1}"; options=${options:-(defaults)}
    rtol=1e-4
    case " ${args[*]} " in *--dtype=bf16*) rtol=1e-2 ;; *--dtype=fp16*) rtol=2e-3 ;; esac
    echo "=== $name: effc ${args[*]/#$work\//}"
    status=PASS; worst=0; worst_row=0
    if ! "$bin_dir/effc" "${args[@]}" -o "$case_dir/model.effc" >"$case_dir/effc.log" 2>&1 ||
       grep -q "no CUDA kernel" "$case_dir/effc.log"; then
      cat "$case_dir/effc.log"; status="FAIL(effc)"
    else
      for seed in "${seeds[@]}"; do
        data=$case_dir/seed$seed; mkdir -p "$data"
        if ! "$bin_dir/effc-run" "$case_dir/model.effc" --backend=host --random-inputs "$seed" \
             --save-test-data "$data" >"$data/host.log" 2>&1; then
          cat "$data/host.log"; status="FAIL(host)"; break
        fi
        out=$("$bin_dir/effc-run" "$case_dir/model.effc" --backend="$backend" --test-data "$data" \
              --rtol "$rtol" 2>&1)
        rc=$?
        echo "seed $seed:"; echo "$out"
        for e in $(echo "$out" | grep -o 'max_rel_err=[^ ]*' | cut -d= -f2); do
          worst=$(awk -v a="$worst" -v b="$e" 'BEGIN { print (b + 0 > a + 0 || b == "inf" || b == "nan") ? b : a }')
        done
        for e in $(echo "$out" | grep -o 'row_rel_err=[^ ]*' | cut -d= -f2); do
          worst_row=$(awk -v a="$worst_row" -v b="$e" 'BEGIN { print (b + 0 > a + 0 || b == "inf" || b == "nan") ? b : a }')
        done
        if [[ $rc -ne 0 ]] || ! grep -q '^output ' <<<"$out"; then status="FAIL($backend)"; fi
      done
    fi
    [[ $status == PASS ]] || failed=1
    rows+=("$name|$options|${#seeds[@]}|$worst|$worst_row|$status (rtol $rtol)")
  done < <(effc_runs "$test")
  [[ $n -gt 0 ]] || { echo "check_codegen: $test has no effc RUN line" >&2; exit 1; }
done

echo
echo "=== check_codegen: $backend vs host, random inputs (seeds ${seeds[*]})"
printf '%-16s %-44s %-5s %-12s %-12s %s\n' test effc-options seeds max_rel_err row_rel_err status
for r in "${rows[@]}"; do
  IFS='|' read -r t o s e w st <<<"$r"
  printf '%-16s %-44s %-5s %-12s %-12s %s\n' "$t" "$o" "$s" "$e" "$w" "$st"
done
if [[ $failed != 0 ]]; then
  echo "check_codegen: FAILED"
  exit 1
fi
echo "check_codegen: all ${#rows[@]} cases passed"
