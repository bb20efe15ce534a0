#!/usr/bin/env python3
"""No-GPU check of generated tensor-core GEMM kernels' shared-memory data path.

usage: fragcheck.py KERNEL.cu...   (sources from effc-gemm-bench --emit-only)

Each source is a whole translation unit: the embedded tensor_core_gemm.cuh
(whose "layout" section, TcgOperand / TcgFragA / TcgFragB, is plain integer
C++) and the kernel's config struct. This script compiles that layout
section and every config with the host C++ compiler into one program that
prints, for k-tile 0 of block (0, 0), where each thread's cp.async (or
element-load) chunk lands in shared memory and the first and last warp's
ldmatrix[.trans] / ld.shared fragment addresses. It then applies PTX
ldmatrix semantics with the register assignment of the tcg_gemm template's
own ldsm_x4 / ld_shared_u32 calls (read from the source) and checks that
every fragment register holds exactly the elements the mma.sync m16n8k16 /
m16n8k8-tf32 layout requires. It also counts shared-memory bank conflicts of
the fragment loads (extra wavefronts; 0 expected). Swizzle, lane maps and
transposes are where such kernels go wrong; this finds those bugs without a
GPU. Exit status 1 on any mismatch."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

LAYOUT = re.compile(r"// ---- begin layout.*?\n(.*?)// ---- end layout ----", re.S)
CONFIG = re.compile(r"struct (effc_gemm_cfg_\w+) \{.*?\n\};", re.S)
# The template's fragment loads: register list and the address call.
LDSM = re.compile(r"ldsm_x4(_t)?\(((?:(?:af|bfr)\[[^\]]*\]\[[^\]]*\],\s*){4})f([ab])\.addr\(\w+, (\w+), ks, (\w+)\)\)")
LDS = re.compile(r"((?:af|bfr)\[\w+\]\[\w+\]) = ld_shared_u32\(f([ab])\.addr\(\w+, (\w+), ks, (\w+)\)\)")

HARNESS = r"""
#include <cstdio>
#define __host__
#define __device__
#define __forceinline__ inline
%(layout)s
%(configs)s
template <class C> void dump(const char *name) {
  typedef TcgShape<C> S;
  typedef TcgOperand<C, true> OA;
  typedef TcgOperand<C, false> OB;
  std::printf("CFG %%s %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\n", name, C::BM, C::BN, C::BK, C::WARPS_M,
              C::WARPS_N, int(S::TF32), int(C::TRANS_A), int(C::TRANS_B), int(OA::KCONTIG) + 2 * int(OA::WORD_LOADS),
              int(OB::KCONTIG) + 2 * int(OB::WORD_LOADS), OA::BYTES);
  // k-tile 0 into stage 0 of block (0, 0): A at 0, B after it.
  for (int tid = 0; tid < S::NT; ++tid) {
    for (int i = 0; i < OA::ITERS; ++i) {
      int idx = tid + i * S::NT;
      if (idx >= OA::CHUNKS) continue;
      int r = OA::chunkRow(idx), c = OA::chunkCol(idx);
      std::printf("C A %%u %%d %%d\n", OA::chunkDst(0, r, c), OA::globalRow(r, 0, 0), OA::globalCol(c, 0, 0));
    }
    for (int i = 0; i < OB::ITERS; ++i) {
      int idx = tid + i * S::NT;
      if (idx >= OB::CHUNKS) continue;
      int r = OB::chunkRow(idx), c = OB::chunkCol(idx);
      std::printf("C B %%u %%d %%d\n", OB::chunkDst(OA::BYTES, r, c), OB::globalRow(r, 0, 0), OB::globalCol(c, 0, 0));
    }
  }
  const int lastWarp = S::NT / 32 - 1;
  for (int warp = 0; warp <= lastWarp; warp += lastWarp > 0 ? lastWarp : 1) {
    for (int lane = 0; lane < 32; ++lane) {
      TcgFragA<C> fa;
      TcgFragB<C> fb;
      fa.init(lane, warp / C::WARPS_N);
      fb.init(lane, warp %% C::WARPS_N);
      for (int ks = 0; ks < C::BK / S::KSTEP; ++ks) {
        for (int j = 0; j < S::MI; ++j)
          for (int q = 0; q < 4; ++q)
            std::printf("F a %%d %%d %%d %%d %%d %%u\n", warp, lane, ks, j, q, fa.addr(0, j, ks, q));
        for (int j = 0; j < S::NI; ++j)
          for (int q = 0; q < 2; ++q)
            std::printf("F b %%d %%d %%d %%d %%d %%u\n", warp, lane, ks, j, q, fb.addr(OA::BYTES, j, ks, q));
      }
    }
  }
}
int main() {
%(calls)s
  return 0;
}
"""


def run_layout(layout, configs):
    """Compiles the layout section with the configs; returns the dump lines per config."""
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "layout.cpp")
        exe = os.path.join(tmp, "layout")
        with open(src, "w") as f:
            f.write(HARNESS % {
                "layout": layout,
                "configs": "\n".join(text for _, text in configs),
                "calls": "\n".join(f'  dump<{name}>("{name}");' for name, _ in configs),
            })
        subprocess.run([cxx, "-std=c++17", "-O1", "-w", "-o", exe, src], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    per = defaultdict(list)
    cur = None
    for line in out.splitlines():
        if line.startswith("CFG "):
            cur = line.split()[1]
        per[cur].append(line)
    return per


def fragment_loads(src):
    """(operand, kind, register exprs, loop var, q expr) of each fragment load in tcg_gemm."""
    body = re.sub(r"\s+", " ", src[src.index("void tcg_gemm("):])
    loads = []
    for m in LDSM.finditer(body):
        regs = [r.strip() for r in re.split(r",\s*(?=(?:af|bfr)\[)", m.group(2).rstrip(", "))]
        loads.append((m.group(3), "ldsm_t" if m.group(1) else "ldsm", regs, m.group(4), m.group(5)))
    for m in LDS.finditer(body):
        loads.append((m.group(2), "lds", [m.group(1)], m.group(3), m.group(4)))
    return loads


def check(path, lines, loads):
    hdr = lines[0].split()
    BM, BN, BK, WM, WN, tf32, transA, transB, aMode, bMode, aBytes = map(int, hdr[2:])
    tf32, transA, transB = bool(tf32), bool(transA), bool(transB)
    esz = 4 if tf32 else 2
    EPC = 16 // esz
    KSTEP = 8 if tf32 else 16
    NT = 32 * WM * WN
    warpM, warpN = BM // WM, BN // WN
    MI, NI = warpM // 16, warpN // 8
    # mode: 1 = k-contiguous (ldmatrix), 0 = ldmatrix.trans, 2 = 32-bit word loads
    kind_of = {1: "ldsm", 0: "ldsm_t", 2: "lds"}

    smem = {}  # byte address -> (operand, logical coords)
    addr = {}  # (op, warp, lane, ks, j, q) -> byte address
    for line in lines[1:]:
        f = line.split()
        if f[0] == "C":
            op, d, gr, gc = f[1], int(f[2]), int(f[3]), int(f[4])
            assert d % 16 == 0, f"{op}: chunk at {d} not 16-byte aligned"
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
        else:
            addr[(f[1],) + tuple(map(int, f[2:7]))] = int(f[7])

    calls = []  # (kind, register exprs, operand, loop var, loop count, q expr)
    for op, mode, n in (("a", aMode, MI), ("b", bMode, NI)):
        kind = kind_of[mode]
        for lop, lkind, regs, var, q in loads:
            if lop == op and lkind == kind:
                count = n // 2 if (op == "b" and kind != "lds") else n
                qs = range(4) if q == "q" else [int(q)]
                for qv in qs:
                    calls.append((kind, [r.replace("[q]", f"[{qv}]") for r in regs], op, var, count, qv))
    assert any(c[2] == "a" for c in calls) and any(c[2] == "b" for c in calls), "fragment loads not found"

    errors, conflicts = 0, defaultdict(int)
    warps = sorted({0, NT // 32 - 1})
    for ks in range(BK // KSTEP):
        for kind, dests, op, var, n, q in calls:
            for v in range(n):
                for w in warps:
                    addrs = [addr[(op, w, lane, ks, v, q)] for lane in range(32)]
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
                            name, idx, qq = reg
                            if name == "af":
                                mb, kb = wm * warpM + idx * 16, ks * KSTEP
                                if tf32:
                                    exp = [("A", (mb + g + 8 * (qq & 1), kb + t + 4 * (qq >> 1)))]
                                else:
                                    exp = [("A", (mb + g + 8 * (qq & 1), kb + 2 * t + 8 * (qq >> 1) + h)) for h in range(2)]
                            else:
                                nb, kb = wn * warpN + idx * 8, ks * KSTEP
                                if tf32:
                                    exp = [("B", (kb + t + 4 * qq, nb + g))]
                                else:
                                    exp = [("B", (kb + 2 * t + 8 * qq + h, nb + g)) for h in range(2)]
                            if got != exp:
                                errors += 1
                                if errors <= 5:
                                    print(f"MISMATCH ks={ks} warp={w} lane={lane} {reg}: got {got} want {exp}")
    print(f"{path}: tile {BM}x{BN}x{BK} w{WM}x{WN} {'tf32' if tf32 else '16-bit'} transA={transA} transB={transB}: "
          f"{errors} fragment mismatches, bank-conflict extra wavefronts {dict(conflicts)}")
    return 1 if errors else 0


def main(paths):
    rc = 0
    groups = defaultdict(list)  # layout text -> [(path, config name, config text, fragment loads)]
    for p in paths:
        try:
            src = open(p).read()
            layout = LAYOUT.search(src).group(1)
            cfg = CONFIG.search(src)
            loads = fragment_loads(src)
            # One struct name per file in the harness.
            name = f"cfg{len(groups[layout])}_{cfg.group(1)}"
            groups[layout].append((p, name, cfg.group(0).replace(cfg.group(1), name, 1), loads))
        except Exception as e:  # report and go on
            print(f"{p}: ERROR {e!r}")
            rc = 1
    for layout, items in groups.items():
        per = run_layout(layout, [(name, text) for _, name, text, _ in items])
        for p, name, _, loads in items:
            try:
                rc = max(rc, check(p, per[name], loads))
            except Exception as e:
                print(f"{p}: ERROR {e!r}")
                rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
