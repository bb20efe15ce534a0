#!/usr/bin/env python3
"""GPU checks whose artifacts are compiled on the dev machine, so that the GPU
machine (short leases, no LLVM) only runs them.

  test/gpu/prebuilt.py stage DEST CASES [--arch sm_90a] [--bin build/bin] [--shared ../shared]
      compiles every case's artifact with its kernels as cubins for --arch
      (effc --embed-cubin), copies its test data and a stripped effc-run.
  python3 DEST/prebuilt.py run DEST
      runs every case on the cuda backend (effc-run) and prints one row per
      case (PASS/FAIL and the comparison line), a table last; exit 1 on any
      FAIL or a missing part.

CASES: one case per line, `NAME | MODEL_DIR | DATA | EFFC ARGS | EFFC-RUN ARGS`
(MODEL_DIR and DATA relative to --shared, or MODEL_DIR `gen:SCRIPT ARGS`: the
eff module (.mlir) that the repository's SCRIPT prints; DATA is a test_data_set_N or
generate_N directory, or `host:DIR`: DIR's inputs with the host backend's
outputs of the same artifact as the reference, which checks the CUDA kernels
alone where the reference is not the model's (quantized artifacts), or
`host-gen:SCRIPT ARGS`: the .npy inputs that the repository's SCRIPT writes
into the directory `{out}` in ARGS, with the host backend's outputs as the
reference (one artifact with symbolic dims run at several dim values); `#`
starts a comment). Without --shape/--dim in EFFC
ARGS the shapes come from DATA's input_*.pb. EFFC-RUN ARGS follow
`--test-data DATA` (e.g. --rtol 2e-2, or --generate 16 --teacher-forcing);
`{cases}` in them is DEST/cases, e.g. `--then-test-data {cases}/OTHER/data`
runs another case's data in the same session (same effc args: artifacts are
reproducible).

EFFC_PREBUILT_WRAP (run) prefixes every effc-run command, e.g.
"compute-sanitizer --tool memcheck --error-exitcode 9" (with EFFC_CUDA_GRAPH=0 so
each launch is checked alone); EFFC_PREBUILT_TIMEOUT (seconds, default 300)
bounds each case.
"""
import glob
import os
import shutil
import subprocess
import sys


def read_cases(path):
    cases = []
    for n, line in enumerate(open(path), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 5:
            sys.exit(f"prebuilt.py: {path}:{n}: expected 5 fields separated by |, got {len(parts)}")
        cases.append(dict(zip(["name", "model", "data", "effc", "run"], parts)))
    return cases


def shape_flags(data):
    import onnx
    flags = []
    for f in sorted(glob.glob(os.path.join(data, "input_*.pb"))):
        t = onnx.TensorProto()
        t.ParseFromString(open(f, "rb").read())
        flags.append(f"--shape={t.name}={'x'.join(str(d) for d in t.dims)}")
    return flags


def stage(dest, cases_file, arch, bin_dir, shared):
    cases = read_cases(cases_file)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(os.path.join(dest, "cases"))
    # The GPU machine may stage too (it has no binutils): copy when there is no strip.
    if shutil.which("strip"):
        subprocess.run(["strip", "-o", os.path.join(dest, "effc-run"), os.path.join(bin_dir, "effc-run")],
                       check=True)
    else:
        shutil.copy(os.path.join(bin_dir, "effc-run"), os.path.join(dest, "effc-run"))
    shutil.copy(__file__, os.path.join(dest, "prebuilt.py"))
    manifest = []
    for c in cases:
        out = os.path.join(dest, "cases", c["name"])
        os.makedirs(out)
        from_host = c["data"].startswith("host:")
        generated = c["data"].startswith("host-gen:")
        data = os.path.join(shared, c["data"][5:] if from_host else c["data"])
        effc_args = c["effc"].split()
        if not any(a.startswith(("--shape", "--dim")) for a in effc_args):
            effc_args += shape_flags(data)
        model = os.path.join(shared, c["model"], "model.onnx")
        if c["model"].startswith("gen:"):  # an eff module the repository's script prints
            script, *args = c["model"][len("gen:"):].split()
            g = subprocess.run([sys.executable, os.path.join(repo, script), *args],
                               capture_output=True, text=True)
            if g.returncode:
                sys.exit(f"prebuilt.py: {c['name']}: {script} failed:\n{g.stderr}")
            model = os.path.join(out, "model.mlir")
            open(model, "w").write(g.stdout)
        cmd = [os.path.join(bin_dir, "effc"), model,
               *effc_args, "--embed-cubin", f"--arch={arch}", "-o", os.path.join(out, "model.effc")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"prebuilt.py: {c['name']}: effc failed:\n{' '.join(cmd)}\n{r.stderr}")
        if generated:
            script, *args = c["data"][len("host-gen:"):].split()
            gen_dir = os.path.join(dest, "inputs", c["name"])
            args = [gen_dir if a == "{out}" else a for a in args]
            g = subprocess.run([sys.executable, os.path.join(repo, script), *args],
                               capture_output=True, text=True)
            if g.returncode:
                sys.exit(f"prebuilt.py: {c['name']}: {script} failed:\n{g.stderr}")
            inputs = [f"--input={os.path.basename(f)[:-4]}={f}"
                      for f in sorted(glob.glob(os.path.join(gen_dir, "*.npy")))]
        elif from_host:
            inputs = [f"--input={flag.split('=', 1)[1].split('=')[0]}={f}"
                      for flag, f in zip(shape_flags(data),
                                         sorted(glob.glob(os.path.join(data, "input_*.pb"))))]
        if from_host or generated:
            os.makedirs(os.path.join(out, "data"))
            host = [os.path.join(bin_dir, "effc-run"), os.path.join(out, "model.effc"), "--backend=host",
                    *inputs, "--save-test-data", os.path.join(out, "data")]
            r = subprocess.run(host, capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"prebuilt.py: {c['name']}: host run failed:\n{' '.join(host)}\n{r.stderr}")
        else:
            shutil.copytree(data, os.path.join(out, "data"))
        manifest.append(f"{c['name']} | {c['run']}")
        print(f"staged {c['name']}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}")
    open(os.path.join(dest, "cases.txt"), "w").write("\n".join(manifest) + "\n")
    print(f"prebuilt.py: {len(cases)} cases in {dest}")


def run(dest):
    rows, failed = [], 0
    wrap = os.environ.get("EFFC_PREBUILT_WRAP", "").split()
    timeout = int(os.environ.get("EFFC_PREBUILT_TIMEOUT", "300"))
    for line in open(os.path.join(dest, "cases.txt")):
        name, args = [p.strip() for p in line.split("|", 1)]
        case = os.path.join(dest, "cases", name)
        args = args.replace("{cases}", os.path.join(dest, "cases"))
        cmd = wrap + [os.path.join(dest, "effc-run"), os.path.join(case, "model.effc"), "--backend=cuda",
               "--test-data", os.path.join(case, "data"), *args.split()]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            text, rc = r.stdout + r.stderr, r.returncode
        except subprocess.TimeoutExpired:
            text, rc = f"timed out after {timeout} s", 124
        lines = [l for l in text.splitlines()
                 if l.startswith(("output ", "tokens:", "acceptance:", "then ", "effc-run: error",
                                     "shared pages:", "preempted:", "========= ERROR SUMMARY"))]
        status = "PASS" if rc == 0 else "FAIL"
        failed += rc != 0
        rows.append((name, status, " ; ".join(lines) or text.strip()[-300:]))
        print(f"--- {name}: {status}\n{text}", flush=True)
    print("\n=== prebuilt checks (cuda)")
    for name, status, detail in rows:
        print(f"{name:32} {status:5} {detail[:200]}")
    print(f"{len(rows) - failed} of {len(rows)} pass")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "stage":
        opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
        repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        stage(sys.argv[2], sys.argv[3], opts.get("--arch", "sm_90a"),
              opts.get("--bin", os.path.join(repo, "build", "bin")),
              opts.get("--shared", os.path.join(repo, "..", "shared")))
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2]))
    else:
        sys.exit(__doc__)
