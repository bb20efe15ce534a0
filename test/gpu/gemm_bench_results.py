"""What the effc-gemm-bench runs of test/gpu/lib.sh (gemm_bench_one,
gemm_bench_checks, gemm_cublas_peer) leave in a log directory, read for
the tables of test/gpu/hopper_gemm.sh and hopper_gemm_variants.sh."""
import os


def fields(line):
    """KEY=VALUE fields of a RESULT or PEER line."""
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def results(path, width):
    """RESULT rows and PINGPONG-FALLBACK reasons of one bench process, or
    why there are no rows (its last line cut to `width` characters)."""
    text = open(path).read() if os.path.exists(path) else ""
    rc = open(path + ".rc").read().strip() if os.path.exists(path + ".rc") else "?"
    lines = text.splitlines()
    rows = [fields(l) for l in lines if l.startswith("RESULT ")]
    fb = [l.split(maxsplit=2)[2] for l in lines if l.startswith("PINGPONG-FALLBACK ")]
    if rows:
        return rows, fb, ""
    if rc == "124":
        return [], fb, "timed out (hang?)"
    last = [l for l in lines if l.strip()]
    return [], fb, f"exit {rc}: {last[-1][:width] if last else 'no output'}"


def check_listing(log):
    """The check problems' descriptions, in --only order."""
    return [l.split(maxsplit=2)[2] for l in open(f"{log}/check-list.txt") if l.startswith("PROBLEM ")]


def peer_tflops(log):
    """{shape: cuBLAS TFLOP/s} of LOG/peer.txt."""
    peer = {}
    for l in open(f"{log}/peer.txt"):
        if l.startswith("PEER "):
            f = fields(l)
            peer[f["shape"]] = float(f["tflops"])
    return peer


def report_checks(log, count, width, show_tile):
    """The checks of gemm_bench_checks: a FAIL line per failing problem (a
    line per row with VERBOSE set; the kernel's tile with show_tile);
    returns (failures, rows that ran a ping-pong kernel: tile *_pp)."""
    listing = check_listing(log)
    fails = pp = 0
    for i in range(count):
        rows, _, why = results(f"{log}/check/{i}.txt", width)
        if not rows:
            fails += 1
            print(f"FAIL  #{i:<3d} {listing[i]:70s} {why}")
            continue
        for r in rows:
            pp += r.get("tile", "").endswith("_pp")
            if r["status"] != "PASS":
                fails += 1
            if r["status"] != "PASS" or os.environ.get("VERBOSE"):
                tile = f"{r['tile']} " if show_tile else ""
                print(f"{r['status']:5s} #{i:<3d} {listing[i]:70s} {tile}err={r['max_rel_err']} tol={r['tol']}")
    return fails, pp
