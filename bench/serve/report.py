#!/usr/bin/env python3
"""The tables of bench/serve/run.sh from its logs (effc-run --serve-bench's lines, and hf_serve_peer.py's, which
prints the same). Exit 1 when a log that should be there lacks its lines.

Serving, per arrival rate: throughput (output tokens/s, requests/s), time to first token, inter-token and end-to-end
latency percentiles (ms), the KV pool's waste (token rows of the used pages not written yet, at the step with the most
pages in use and summed over all steps) and preemptions, and each row's throughput over HF's.

Speculative decoding at batch 1: per K, the measured acceptance (draft tokens accepted / proposed) and throughput over
the run without a draft, with the small draft and with the target as its own draft (acceptance 1). The projection:
a step with the small draft costs s = makespan / steps of its run (K draft forwards + one target forward over K + 1
rows, whatever is accepted) and gives E(a) = (1 - a^(K+1)) / (1 - a) tokens at acceptance a (each draft accepted
independently with probability a); without a draft a step costs t = makespan / steps and gives one token; so
speedup(a) = E(a) * t / s. Random weights make the small draft's own acceptance low; the projection says what the
same costs give at the acceptance a trained draft reaches.
"""
import argparse, os, re, sys

NUM = r"([0-9.]+)"


def parse(path):
    """The numbers of one serve-bench log, or None when it is missing or incomplete."""
    if not os.path.exists(path):
        return None
    text = open(path).read()
    r = {}
    m = re.search(r"^serve-bench: (\d+) requests, (\d+) output tokens in " + NUM + r" s \((.*)\)$", text, re.M)
    if m:
        r["requests"], r["tokens"], r["seconds"] = int(m[1]), int(m[2]), float(m[3])
        steps = re.search(r"(\d+) steps", m[4])
        r["steps"] = int(steps[1]) if steps else None
    m = re.search(r"^throughput: " + NUM + r" output tokens/s, " + NUM + r" requests/s$", text, re.M)
    if m:
        r["tok_s"], r["req_s"] = float(m[1]), float(m[2])
    for key, name in (("ttft", "time to first token"), ("itl", "inter-token latency"), ("e2e", "end-to-end latency")):
        m = re.search("^" + name + r" ms: mean " + NUM + " p50 " + NUM + " p90 " + NUM + " p99 " + NUM, text, re.M)
        if m:
            r[key] = dict(mean=float(m[1]), p50=float(m[2]), p90=float(m[3]), p99=float(m[4]))
    m = re.search(r"^kv pool: .*waste " + NUM + r"% at the peak .*, " + NUM + r"% over all steps; preempted (\d+)",
                  text, re.M)
    if m:
        r["waste_peak"], r["waste"], r["preempted"] = float(m[1]), float(m[2]), int(m[3])
    m = re.search(r"^acceptance: " + NUM, text, re.M)
    if m:
        r["acceptance"] = float(m[1])
    m = re.search(r"^running: at most (\d+)", text, re.M)
    if m:
        r["running"] = int(m[1])
    m = re.search(r"^runs: (\d+) of the target, (\d+) token positions, (\d+) of them padding", text, re.M)
    if m and int(m[2]):
        r["pad"] = 100.0 * int(m[3]) / int(m[2])
    return r if all(k in r for k in ("tok_s", "ttft", "itl", "e2e")) else None


def fmt(v, spec="{:.1f}"):
    return "?" if v is None else spec.format(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--rates", nargs="+", required=True)
    ap.add_argument("--variants", nargs="+", required=True)
    ap.add_argument("--cmp", default="", help="variants run on the first --cmp-requests requests (gather's)")
    ap.add_argument("--cmp-requests", default="?")
    ap.add_argument("--peer", default="hf")
    ap.add_argument("--hf-batch", default="?")
    ap.add_argument("--spec-k", default="", help="space-separated K values; empty: no speculative runs")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    bad = []
    print(f"\nServing: {a.title}")
    head = (f"{'rate':>6} {'system':<16} {'tok/s':>9} {'req/s':>7} {'ttft_p50':>9} {'ttft_p99':>9} {'itl_p50':>8} "
            f"{'itl_p99':>8} {'e2e_p50':>9} {'run':>4} {'waste%':>7} {'peak%':>6} {'preempt':>7} {'pad%':>6} {'x_HF':>6}")
    print(head)
    for rate in a.rates:
        rows = [(v, os.path.join(a.log, f"serve-{v}-{rate}.txt")) for v in a.variants]
        if a.peer == "hf":
            rows.append((f"HF static b{a.hf_batch}", os.path.join(a.log, f"serve-hf-{rate}.txt")))
        got = {name: parse(path) for name, path in rows}
        hf = got.get(f"HF static b{a.hf_batch}")
        for name, path in rows:
            r = got[name]
            if r is None:
                bad.append(path)
                print(f"{rate:>6} {name:<16} FAILED (see {path})")
                continue
            ratio = r["tok_s"] / hf["tok_s"] if hf and not name.startswith("HF") else None
            print(f"{rate:>6} {name:<16} {r['tok_s']:>9.1f} {r['req_s']:>7.3f} {r['ttft']['p50']:>9.1f} "
                  f"{r['ttft']['p99']:>9.1f} {r['itl']['p50']:>8.2f} {r['itl']['p99']:>8.2f} {r['e2e']['p50']:>9.1f} "
                  f"{fmt(r.get('running'), '{:d}'):>4} {fmt(r.get('waste'), '{:.2f}'):>7} "
                  f"{fmt(r.get('waste_peak'), '{:.2f}'):>6} {fmt(r.get('preempted'), '{:d}'):>7} "
                  f"{fmt(r.get('pad'), '{:.1f}'):>6} {fmt(ratio, '{:.2f}x'):>6}")
        best = max((got[v]["tok_s"] for v in a.variants if got.get(v)), default=None)
        if hf and best:
            print(f"{rate:>6} target >= 10x HF's throughput: best effc {best / hf['tok_s']:.2f}x "
                  f"({'met' if best >= 10 * hf['tok_s'] else 'NOT met'})")
        wastes = [got[v]["waste"] for v in a.variants if got.get(v) and "waste" in got[v]]
        if wastes:
            print(f"{rate:>6} target < 4% of the KV pool wasted: at most {max(wastes):.2f}% over the steps "
                  f"({'met' if max(wastes) < 4 else 'NOT met'})")
    cmp = a.cmp.split()
    if cmp:
        got = {v: parse(os.path.join(a.log, f"serve-{v}-cmp.txt")) for v in cmp}
        first = got[cmp[0]]
        for v in cmp:
            r = got[v]
            path = os.path.join(a.log, f"serve-{v}-cmp.txt")
            if r is None:
                bad.append(path)
                print(f"{'first':>6} {v:<16} FAILED (see {path})")
                continue
            ratio = r["tok_s"] / first["tok_s"] if first else None
            print(f"{'first':>6} {v:<16} {r['tok_s']:>9.1f} {r['req_s']:>7.3f} {r['ttft']['p50']:>9.1f} "
                  f"{r['ttft']['p99']:>9.1f} {r['itl']['p50']:>8.2f} {r['itl']['p99']:>8.2f} {r['e2e']['p50']:>9.1f} "
                  f"{fmt(r.get('running'), '{:d}'):>4} {fmt(r.get('waste'), '{:.2f}'):>7} "
                  f"{fmt(r.get('waste_peak'), '{:.2f}'):>6} {fmt(r.get('preempted'), '{:d}'):>7} "
                  f"{fmt(r.get('pad'), '{:.1f}'):>6} {fmt(ratio, '{:.2f}x'):>6}")
        print(f"first: the first {a.cmp_requests} requests of the trace, all at once (gather copies every row's past "
              f"through the host each run); x_HF there: throughput / {cmp[0]}'s on the same requests.")
    print("rate: Poisson arrivals per second ('inf': all at once); ms for ttft/itl/e2e; run: most requests running "
          "at once;\nwaste%: token rows of used pages not yet written, summed over the steps (peak%: at the step with "
          "the most pages);\npad%: token positions the target's runs computed for no token (rows padded to a run's longest "
          "feed; 0 packed);\nx_HF: throughput / HF generate()'s with static padded batches in arrival order.")

    ks = a.spec_k.split()
    if ks:
        print("\nSpeculative decoding, batch 1 (requests one after another):")
        base = parse(os.path.join(a.log, "spec-none.txt"))
        if base is None or not base.get("steps"):
            bad.append(os.path.join(a.log, "spec-none.txt"))
            print("  no baseline run")
        else:
            t = base["seconds"] / base["steps"]
            print(f"  no draft: {base['tok_s']:.1f} tok/s, {t * 1e3:.3f} ms per step")
            print(f"  {'K':>2} {'draft':<6} {'accept':>7} {'tok/s':>9} {'speedup':>8} {'ms/step':>8}   "
                  f"projected speedup at acceptance 0.5 0.6 0.7 0.8 0.9 1.0")
            for k in ks:
                K = int(k)
                for kind in ("draft", "self"):
                    path = os.path.join(a.log, f"spec-{kind}-k{k}.txt")
                    r = parse(path)
                    if r is None or "acceptance" not in r or not r.get("steps"):
                        bad.append(path)
                        print(f"  {k:>2} {kind:<6} FAILED (see {path})")
                        continue
                    s = r["seconds"] / r["steps"]
                    proj = ""
                    if kind == "draft":
                        e = lambda x: (1 - x ** (K + 1)) / (1 - x) if x < 1 else K + 1
                        proj = "   " + " ".join(f"{e(x) * t / s:.2f}" for x in (0.5, 0.6, 0.7, 0.8, 0.9, 1.0))
                        if e(0.8) * t / s >= 2:
                            proj += "  (target >= 2x at 0.8: met)"
                        else:
                            proj += "  (target >= 2x at 0.8: NOT met)"
                    print(f"  {k:>2} {kind:<6} {r['acceptance']:>7.3f} {r['tok_s']:>9.1f} "
                          f"{r['tok_s'] / base['tok_s']:>7.2f}x {s * 1e3:>8.3f}{proj}")
            print("  draft: the small draft model (1/8 of the target); self: the target as its own draft (acceptance "
                  "1, no gain\n  expected: the draft costs as much as the target). projected: E(a) x (no-draft step) / "
                  "(draft step),\n  E(a) = (1 - a^(K+1)) / (1 - a) tokens per step; the measured points check it.")
    if bad:
        print("report: missing or incomplete logs: " + ", ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
