#!/usr/bin/env python3
"""No-GPU check of generated tensor-core GEMM kernels' shared-memory data path.

usage: fragcheck.py KERNEL.cu...   (sources from effc-gemm-bench --emit-only)

For k-tile 0 of block (0, 0) it evaluates the kernel's own C expressions:
where each thread's cp.async (or element-load) chunk lands in shared memory
(dst, gr, gc), then the first and last warp's ldmatrix[.trans] / ld.shared
fragment addresses, applies PTX ldmatrix semantics, and checks that every
fragment register holds exactly the elements the mma.sync m16n8k16 /
m16n8k8-tf32 layout requires. It also counts shared-memory bank conflicts of
the fragment loads (extra wavefronts; 0 expected). Swizzle, lane maps and
transposes are where such kernels go wrong; this finds those bugs without a
GPU. Exit status 1 on any mismatch."""
import re
import sys
from collections import defaultdict


_CODE = {}


def cexpr(e):
    """A C integer expression of the kernel as compiled Python (cached)."""
    code = _CODE.get(e)
    if code is None:
        py = re.sub(r"\(long long\)", "", e).replace("&&", " and ").replace("||", " or ")
        code = _CODE[e] = compile(py, "<kernel expr>", "eval")
    return code


def main(path):
    src = open(path).read()
    m = re.search(r"// tile (\d+)x(\d+)x(\d+)_w(\d+)x(\d+)_s(\d+), mma (m16n8k8 tf32|m16n8k16)", src)
    BM, BN, BK, WM, WN, S = map(int, m.groups()[:6])
    tf32 = "tf32" in m.group(7)
    hdr = re.search(r"= (?:act\()?(?:alpha \* )?A(\^T)? \* B(\^T)?", src)
    transA, transB = bool(hdr.group(1)), bool(hdr.group(2))
    esz = 4 if tf32 else 2
    EPC = 16 // esz
    KSTEP = 8 if tf32 else 16
    NT = 32 * WM * WN
    warpM, warpN = BM // WM, BN // WN
    MI, NI = warpM // 16, warpN // 8

    # ---- setup expressions (per thread) ----
    setup = []
    body = src[src.index("const int lr"):src.index("for (long long bz")]
    for line in body.splitlines():
        line = line.strip()
        mm = re.match(r"const int (\w+) = (.*);", line)
        if mm and "//" not in mm.group(2):
            setup.append(("scalar", mm.group(1), mm.group(2)))
        elif line.startswith("const int lr"):
            setup.append(("scalar", "lr", "lane & 7"))
        mm = re.match(r"(?:for \(int (\w+) = 0; \1 < (\d+); \+\+\1\))?\s*(\w+)\[(\w+)\](?:\[(\w+)\])? = (.*);", line)
        if mm and "for" in line and "[h]" not in line:
            setup.append(("arr1", mm.group(3), mm.group(1), int(mm.group(2)), mm.group(6)))
        mm2 = re.match(r"for \(int h = 0; h < 2; \+\+h\) (\w+)\[mi\]\[h\] = (.*);", line)
        if mm2:
            setup.append(("arr2", mm2.group(1), MI, mm2.group(2)))

    def thread_env(tid):
        lane, warp = tid & 31, tid >> 5
        env = {"tid": tid, "lane": lane, "warp": warp, "wm": warp // WN, "wn": warp % WN}
        for item in setup:
            if item[0] == "scalar":
                env[item[1]] = eval(cexpr(item[2]), {}, env)
            elif item[0] == "arr1":
                _, name, var, n, expr = item
                env[name] = [eval(cexpr(expr), {}, dict(env, **{var: v})) for v in range(n)]
            else:
                _, name, n, expr = item
                env[name] = [[eval(cexpr(expr), {}, dict(env, mi=mi, h=h)) for h in range(2)] for mi in range(n)]
        return env

    # ---- shared-memory contents after loading k-tile 0 into stage 0 ----
    smem = {}  # byte address -> (operand, logical coords)
    prologue = src[src.index("for (int s = 0;"):src.index("for (int kt = 0;")]
    for blk in re.finditer(r"// ([AB]) tile: (\d+) rows x (\d+) chunks.*?for \(int i = 0; i < (\d+); \+\+i\)(.*?)(?:cp_async16|st_shared_v4)",
                           prologue, re.S):
        op, rows, chunks, iters, text = blk.group(1), int(blk.group(2)), int(blk.group(3)), int(blk.group(4)), blk.group(5)
        rc = re.search(r"const int r = (.*?), c = (.*?);", text)
        dst = re.search(r"const unsigned dst = (.*?);", text).group(1)
        grgc = re.search(r"const int gr = (.*?), gc = (.*?);", text)
        for tid in range(NT):
            for i in range(iters):
                idx = tid + i * NT
                if idx >= rows * chunks:
                    continue
                env = {"idx": idx, "tid": tid, "i": i, "st": 0, "s": 0, "m0": 0, "n0": 0}
                env["r"] = eval(cexpr(rc.group(1)), {}, env)
                env["c"] = eval(cexpr(rc.group(2)), {}, env)
                d = eval(cexpr(dst), {}, env)
                gr = eval(cexpr(grgc.group(1)), {}, env)
                gc = eval(cexpr(grgc.group(2)), {}, env)
                assert d % 16 == 0
                for e in range(EPC):
                    sr, sc = gr, gc + e
                    if op == "A":
                        coord = (sc, sr) if transA else (sr, sc)  # (m, k)
                    else:
                        coord = (sc, sr) if transB else (sr, sc)  # (k, n)
                    for b in range(esz):
                        key = d + e * esz + b
                        assert key not in smem, f"{op}: byte {key} written twice"
                        smem[key] = (op, coord)
    # ---- fragment loads ----
    loop = src[src.index("for (int ks = 0;"):src.index("cp_async_wait<0>")]
    aBytes = int(re.search(r"bS = aS \+ (\d+);", src).group(1))
    calls = []  # (kind, dest exprs, addr expr, loop var, loop n)
    cur = None
    for line in loop.splitlines():
        line = line.strip()
        mm = re.match(r"for \(int (mi|nj|ni) = 0; \1 < (\d+); \+\+\1\) \{", line)
        if mm:
            cur = (mm.group(1), int(mm.group(2)))
        mm = re.match(r"const unsigned base = (.*);", line)
        if mm:
            base = mm.group(1)
        mm = re.match(r"ldsm_x4(_t)?\((.*)\);", line)
        if mm:
            parts = [p.strip() for p in re.split(r",(?![^\[]*\])", mm.group(2))]
            calls.append(("ldsm_t" if mm.group(1) else "ldsm", parts[:4], parts[4], cur))
        mm = re.match(r"(\w+\[\w+\]\[\d\]) = ld_shared_u32\((.*)\);", line)
        if mm:
            calls.append(("lds", [mm.group(1)], mm.group(2).replace("base", "(" + base + ")"), cur))
    assert calls, "no fragment loads found"

    errors, conflicts = 0, defaultdict(int)
    envs = [thread_env(t) for t in range(NT)]
    for ks in range(BK // KSTEP):
        for kind, dests, addr, (var, n) in calls:
            for v in range(n):
                # The first and last warp cover both warp-grid offsets.
                for w in sorted({0, NT // 32 - 1}):
                    addrs = []
                    for lane in range(32):
                        env = dict(envs[w * 32 + lane], ks=ks, aS=0, bS=aBytes, **{var: v})
                        addrs.append(eval(cexpr(addr), {}, env))
                    # bank conflicts
                    if kind == "lds":
                        banks = defaultdict(set)
                        for a in addrs:
                            banks[(a // 4) % 32].add(a // 4)
                        conflicts[kind] += max(len(s) for s in banks.values()) - 1
                    else:
                        for j in range(4):
                            groups = defaultdict(set)
                            for a in addrs[8 * j:8 * j + 8]:
                                groups[(a // 16) % 8].add(a // 16)
                            conflicts[kind] += max(len(s) for s in groups.values()) - 1
                    wm, wn = w // WN, w % WN
                    for lane in range(32):
                        g, t = lane >> 2, lane & 3
                        for j, dexpr in enumerate(dests):
                            dm = re.match(r"(\w+)\[(.*?)\]\[(.*?)\]", dexpr)
                            reg = (dm.group(1), eval(dm.group(2), {}, {var: v}), int(eval(dm.group(3), {}, {var: v})))
                            if kind == "ldsm":
                                base_ = addrs[8 * j + lane // 4] + 4 * (lane % 4)
                                byte_addrs = [base_, base_ + 2] if not tf32 else [base_]
                            elif kind == "ldsm_t":
                                byte_addrs = [addrs[8 * j + 2 * (lane % 4)] + 2 * (lane // 4),
                                              addrs[8 * j + 2 * (lane % 4) + 1] + 2 * (lane // 4)]
                            else:
                                byte_addrs = [addrs[lane]]
                            got = []
                            for ba in byte_addrs:
                                ent = [smem.get(ba + b) for b in range(esz)]
                                got.append(ent[0] if len(set(ent)) == 1 else ("torn", ent))
                            # expected
                            name, idx, q = reg
                            if name == "af":
                                mi = idx
                                mb, kb = wm * warpM + mi * 16, ks * KSTEP
                                if tf32:
                                    exp = [("A", (mb + g + 8 * (q & 1), kb + t + 4 * (q >> 1)))]
                                else:
                                    exp = [("A", (mb + g + 8 * (q & 1), kb + 2 * t + 8 * (q >> 1) + h)) for h in range(2)]
                            else:
                                ni = idx
                                nb, kb = wn * warpN + ni * 8, ks * KSTEP
                                if tf32:
                                    exp = [("B", (kb + t + 4 * q, nb + g))]
                                else:
                                    exp = [("B", (kb + 2 * t + 8 * q + h, nb + g)) for h in range(2)]
                            if got != exp:
                                errors += 1
                                if errors <= 5:
                                    print(f"MISMATCH ks={ks} warp={w} lane={lane} {reg}: got {got} want {exp}")
    print(f"{path}: tile {BM}x{BN}x{BK} w{WM}x{WN} {'tf32' if tf32 else '16-bit'} transA={transA} transB={transB}: "
          f"{errors} fragment mismatches, bank-conflict extra wavefronts {dict(conflicts)}")
    return 1 if errors else 0


if __name__ == "__main__":
    rc = 0
    for p in sys.argv[1:]:
        try:
            rc = max(rc, main(p))
        except Exception as e:  # report and go on
            print(f"{p}: ERROR {e!r}")
            rc = 1
    sys.exit(rc)
