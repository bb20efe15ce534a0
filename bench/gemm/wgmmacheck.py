#!/usr/bin/env python3
"""No-GPU check of the sm_90a wgmma GEMM's shared-memory data path.

usage: wgmmacheck.py [--mutate] KERNEL.cu...
       (sources from effc-gemm-bench --emit-only --wgmma --check)

Each source is a whole translation unit with the embedded tensor_core_gemm.cuh,
hopper.cuh and wgmma_gemm.cuh, whose "layout" sections (the 128-byte swizzle,
the wgmma matrix descriptor, WgShape / WgOperand: where each 16-byte cp.async
chunk lands and which descriptor each k16 slice gets) are plain integer C++,
and the kernel's config struct. This script compiles those sections and every
config with the host C++ compiler into one program that, for two k-tiles
(the first and the last, which has the K tail) of the first and the last CTA
tile, fills a shared-memory image from random global operands exactly as the
kernel's loads place them (rows and columns past M, N, K zero-filled), then
reads every element each warpgroup's wgmma.mma_async would read through its
descriptors and checks it equals the operand element the MMA needs.

The read model is CUTLASS's canonical GMMA layouts for 128-byte swizzle (the
descriptor's start address, LBO and SBO decoded from the 64 bits, 16-bit
elements; addresses relative to a 1024-byte aligned base):
  K-major  (r, k): start + (r%8)*128 + (r/8)*SBO + (k/8)*16 + (k%8)*2
  MN-major (r, k): start + (r%64)*2 + (r/64)*LBO + (k%8)*128 + (k/8)*SBO
then bits [4:6] ^= bits [7:9]; r is the row of A (m) or B (n), k in 0..15.
It checks the layout code against that model, not the hardware: the model
itself is what the GPU run (test/gpu/hopper_gemm.sh) confirms.

--mutate: also breaks the swizzle, the MN-major LBO/SBO order and the k16
slice step in copies of the layout code and requires each to be caught.
Exit status 1 on any mismatch (or an uncaught mutation)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAYOUT = re.compile(r"// ---- begin layout.*?\n(.*?)// ---- end layout ----", re.S)
CONFIG = re.compile(r"struct (effc_wgmma_cfg_\w+) \{.*?\n\};", re.S)

HARNESS = r"""
#include <cstdio>
#include <cstdlib>
#include <vector>
#define __host__
#define __device__
#define __forceinline__ inline
typedef unsigned int u32;
typedef unsigned long long u64;
%(layout)s
%(configs)s
static unsigned rng = 12345u;
static unsigned short next16() { rng = rng * 1664525u + 1013904223u; return (unsigned short)((rng >> 8) | 1u); }

// Byte address a wgmma reads for element (r, k) of a k16 slice through desc.
static unsigned readAddr(u64 desc, bool kMajor, int r, int k) {
  unsigned start = unsigned(desc & 0x3FFF) << 4, lbo = unsigned((desc >> 16) & 0x3FFF) << 4,
           sbo = unsigned((desc >> 32) & 0x3FFF) << 4;
  if (((desc >> 62) & 3) != 1 || ((desc >> 49) & 7) != 0) { std::printf("bad descriptor mode\n"); std::exit(1); }
  unsigned a = kMajor ? start + (r %% 8) * 128 + (r / 8) * sbo + (k / 8) * 16 + (k %% 8) * 2
                      : start + (r %% 64) * 2 + (r / 64) * lbo + (k %% 8) * 128 + (k / 8) * sbo;
  return a ^ (((a >> 7) & 7) << 4);
}

template <class C> int check(const char *name) {
  typedef WgShape<C> S;
  typedef WgOperand<C, true> OA;
  typedef WgOperand<C, false> OB;
  // Global operands as stored: A is [M][K] (or [K][M] if TRANS_A) with rows
  // of LDA, B [K][N] (or [N][K] if TRANS_B) with rows of LDB; batch 0 only.
  const long long aRows = C::TRANS_A ? C::K : C::M, bRows = C::TRANS_B ? C::N : C::K;
  std::vector<unsigned short> A(aRows * C::LDA), B(bRows * C::LDB);
  for (auto &v : A) v = next16();
  for (auto &v : B) v = next16();
  auto a = [&](int m, int k) -> unsigned short {
    if (m >= C::M || k >= C::K) return 0;
    return C::TRANS_A ? A[(long long)k * C::LDA + m] : A[(long long)m * C::LDA + k];
  };
  auto b = [&](int k, int n) -> unsigned short {
    if (n >= C::N || k >= C::K) return 0;
    return C::TRANS_B ? B[(long long)n * C::LDB + k] : B[(long long)k * C::LDB + n];
  };
  int bad = 0;
  const int tiles[2][2] = {{0, 0}, {S::TILES_M - 1, S::TILES_N - 1}};
  for (const auto &tile : tiles)
    for (int kt : {0, S::K_TILES - 1}) {
      const int m0 = tile[0] * C::BM, n0 = tile[1] * C::BN;
      std::vector<unsigned short> smem(S::STAGE_BYTES / 2, 0xDEAD);
      std::vector<int> written(S::STAGE_BYTES / 16, 0);
      // The loads: each chunk's 8 elements from its global row/column (the
      // cp.async zero fill past the limits).
      auto place = [&](unsigned base, int r, int c, int gr, int gc, long long ld, long long rowLimit,
                       long long colLimit, const std::vector<unsigned short> &g, unsigned off) {
        unsigned dst = base + off;
        if (dst %% 16 || dst + 16 > unsigned(S::STAGE_BYTES)) { std::printf("%%s: chunk outside the stage\n", name); std::exit(1); }
        written[dst / 16]++;
        for (int e = 0; e < 8; ++e)
          smem[dst / 2 + e] = (gr < rowLimit && gc + e < colLimit) ? g[(long long)gr * ld + gc + e] : 0;
      };
      for (int idx = 0; idx < OA::CHUNKS; ++idx) {
        int r = idx / OA::ROW_CHUNKS, c = idx %% OA::ROW_CHUNKS;
        place(0, r, c, OA::globalRow(r, kt, m0), OA::globalCol(c, kt, m0), C::LDA, OA::ROW_LIMIT,
              OA::COL_LIMIT, A, OA::chunkOffset(r, c));
      }
      for (int idx = 0; idx < OB::CHUNKS; ++idx) {
        int r = idx / OB::ROW_CHUNKS, c = idx %% OB::ROW_CHUNKS;
        place(S::A_BYTES, r, c, OB::globalRow(r, kt, n0), OB::globalCol(c, kt, n0), C::LDB,
              OB::ROW_LIMIT, OB::COL_LIMIT, B, OB::chunkOffset(r, c));
      }
      for (int w : written)
        if (w != 1) { std::printf("%%s: a 16-byte slot written %%d times\n", name, w); ++bad; break; }
      // The reads of every warpgroup's wgmmas for this k-tile.
      for (int wg = 0; wg < S::WARPGROUPS; ++wg)
        for (int ks = 0; ks < S::BK / 16; ++ks) {
          u64 da = OA::desc(0, wg * 64, ks), db = OB::desc(S::A_BYTES, 0, ks);
          for (int k = 0; k < 16; ++k) {
            const int gk = kt * S::BK + ks * 16 + k;
            for (int i = 0; i < 64; ++i) {
              unsigned addr = readAddr(da, OA::KCONTIG, i, k);
              unsigned short got = addr + 2 <= unsigned(S::A_BYTES) ? smem[addr / 2] : 0xBEEF;
              unsigned short want = a(m0 + wg * 64 + i, gk);
              if (got != want && bad++ < 5)
                std::printf("%%s: A m=%%d k=%%d (wg %%d ks %%d kt %%d) reads %%04x at %%u, want %%04x\n", name,
                            m0 + wg * 64 + i, gk, wg, ks, kt, got, addr, want);
            }
            for (int n = 0; n < C::BN; ++n) {
              unsigned addr = readAddr(db, OB::KCONTIG, n, k);
              unsigned short got = addr >= unsigned(S::A_BYTES) && addr + 2 <= unsigned(S::STAGE_BYTES) ? smem[addr / 2] : 0xBEEF;
              unsigned short want = b(gk, n0 + n);
              if (got != want && bad++ < 5)
                std::printf("%%s: B n=%%d k=%%d (ks %%d kt %%d) reads %%04x at %%u, want %%04x\n", name,
                            n0 + n, gk, ks, kt, got, addr, want);
            }
          }
        }
    }
  std::printf("%%s %%dx%%dx%%d tile %%dx%%d trans %%d%%d: %%d mismatches\n", name, C::M, C::N, C::K, C::BM, C::BN,
              int(C::TRANS_A), int(C::TRANS_B), bad);
  return bad;
}
int main() {
  int bad = 0;
%(calls)s
  return bad ? 1 : 0;
}
"""


def build_and_run(layout, configs):
    """Compiles the layout with the configs and runs it: (exit status, output)."""
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "wgmma.cpp"), os.path.join(tmp, "wgmma")
        with open(src, "w") as f:
            f.write(HARNESS % {
                "layout": layout,
                "configs": "\n".join(text for _, text in configs),
                "calls": "\n".join(f'  bad += check<{name}>("{name}") != 0;' for name, _ in configs),
            })
        subprocess.run([cxx, "-std=c++17", "-O0", "-w", "-o", exe, src], check=True)
        run = subprocess.run([exe], capture_output=True, text=True)
        return run.returncode, run.stdout


# Each mutation must make the check fail: (what, pattern, replacement).
MUTATIONS = [
    ("no swizzle", r"\(chunk \^ \(row & 7u\)\)", "(chunk)"),
    ("MN-major LBO and SBO swapped", r"S::BK \* 128, 1024\)", "1024, S::BK * 128)"),
    ("k16 slice step 16 bytes", r"ks \* 32", "ks * 16"),
]


def main(argv):
    mutate = "--mutate" in argv
    paths = [p for p in argv if p != "--mutate"]
    if not paths:
        print(__doc__)
        return 2
    layout, configs = None, []
    for path in paths:
        src = open(path).read()
        sections = LAYOUT.findall(src)
        if len(sections) != 3:
            print(f"{path}: expected 3 layout sections (tcg, hopper, wgmma), found {len(sections)}")
            return 1
        layout = layout or "\n".join(sections)
        configs += [(m.group(1), m.group(0)) for m in CONFIG.finditer(src)]
    if not configs:
        print("no wgmma kernel configs in the sources (effc-gemm-bench --emit-only --wgmma --check)")
        return 1
    status, out = build_and_run(layout, configs)
    print(out, end="")
    print(f"wgmmacheck: {len(configs)} kernels, {'PASS' if status == 0 else 'FAIL'}")
    if status != 0:
        return 1
    if mutate:
        for what, pattern, repl in MUTATIONS:
            broken, n = re.subn(pattern, repl, layout)
            if n == 0:
                print(f"mutation '{what}': pattern not found in the layout code")
                return 1
            status, _ = build_and_run(broken, configs)
            print(f"mutation '{what}': {'caught' if status != 0 else 'NOT caught'}")
            if status == 0:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
