//===- TensorCoreGemm.cpp - mma.sync GEMM kernel text ----------------------===//
//
// Kernel structure (one CTA = one bm x bn tile of C, warps in a warpsM x
// warpsN grid, each owning a (bm/warpsM) x (bn/warpsN) warp tile):
//
//  * Global -> shared: 16-byte cp.async.cg into a `stages`-deep ring, one
//    commit group per k-tile, one __syncthreads per k-tile. Out-of-range
//    rows and the tail of K/M/N are zero-filled by cp.async's src-size
//    operand, so edges cost no separate path. Operands whose rows are not
//    16-byte aligned (leading dim * elem size % 16 != 0) fall back to
//    element loads packed into 16-byte shared stores.
//  * Shared layout: each operand tile is rows x chunks of 16 bytes, stored in
//    its global orientation (k-contiguous or m/n-contiguous). The chunk index
//    is XOR-swizzled with the row so that the 8 rows an ldmatrix phase reads
//    fall in 8 different 16-byte bank groups (no conflicts).
//  * Fragments: ldmatrix.x4 (non-trans for k-contiguous tiles, .trans for
//    m/n-contiguous 16-bit tiles). fp32 m/n-contiguous tiles cannot use
//    ldmatrix.trans (it moves 16-bit elements), so they load 32-bit words
//    with a swizzle that spreads the 4 k-rows of a fragment over all banks.
//  * Math: mma.sync m16n8k16 (bf16/fp16 -> fp32) or m16n8k8 TF32 (operands
//    rounded with cvt.rna.tf32.f32 after the shared load).
//  * Epilogue in registers: alpha, bias (beta), the fused epilogue (a
//    lambda holding the rendered fused body), cast, predicated stores (pairs
//    of elements where alignment allows).
//  * CTA order: grouped raster (8 tile-rows per group) so consecutive CTAs
//    share B panels in L2.
//
// Next steps for Hopper: wgmma (sm_90a) fed by TMA with mbarriers and warp
// specialization; split-K for small M*N; a shared-memory staged epilogue
// with 16-byte stores.
//
#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include "compiler/codegen/CudaWriter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace effc::codegen::tcgemm {

namespace {

int elemSize(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return 4;
  case DType::FLOAT16:
  case DType::BFLOAT16:
    return 2;
  default:
    return 0;
  }
}

const char *typeSuffix(DType t) {
  return t == DType::FLOAT32 ? "f32" : t == DType::FLOAT16 ? "f16" : "bf16";
}

bool isPow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int log2i(int64_t v) {
  int r = 0;
  while ((int64_t(1) << r) < v)
    ++r;
  return r;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string str(int64_t v) { return std::to_string(v); }

/// One operand's tile in shared memory and where it comes from.
struct Operand {
  char name = 'A';
  /// Rows of the shared tile run along m (or n) and chunks along k.
  bool kContig = true;
  /// fp32 m/n-contiguous: fragments via 32-bit loads instead of ldmatrix.
  bool wordLoads = false;
  int rows = 0, rowChunks = 0, rowBytes = 0, bytes = 0;
  // Global view: element (row, col) of the tile is at ptr[(rowBase + row) *
  // ld + colBase + col]; rows valid below rowLimit, columns below colLimit.
  int64_t ld = 0, batchStride = 0;
  int64_t rowLimit = 0, colLimit = 0;
  bool rowsAlwaysValid = false, colsAlwaysFull = false;
  bool aligned16 = false;

  /// The chunk XOR for row `r` (a C expression).
  std::string swizzle(const std::string &r) const {
    if (wordLoads)
      return "(((" + r + ") & 3) << 1)";
    int l = std::min(rowChunks, 8);
    if (l <= 1)
      return "0";
    int shift = log2i(8 / l);
    return "(((" + r + ") >> " + str(shift) + ") & " + str(l - 1) + ")";
  }
};

/// Everything the emitter derives from the spec.
struct Plan {
  GemmSpec s;
  TileConfig t;
  BatchLoop batch;
  bool tf32 = false;
  int esz = 2, epc = 8, kstep = 16;
  int64_t ldc = 0, batchStrideC = 0;
  int warpM = 0, warpN = 0, mi = 0, ni = 0, threads = 0;
  int64_t tilesM = 0, tilesN = 0, kTiles = 0;
  int stageBytes = 0, smemBytes = 0;
  Operand a, b;
};

Plan makePlan(const GemmSpec &s) {
  Plan p;
  p.s = s;
  p.t = chooseTile(s);
  p.tf32 = s.aType == DType::FLOAT32;
  p.esz = elemSize(s.aType);
  p.epc = 16 / p.esz;
  p.kstep = p.tf32 ? 8 : 16;
  coalesceBatch(s, p.batch);
  // Y is packed over the batch dims.
  p.ldc = s.ldC();
  p.batchStrideC = s.M * p.ldc;
  p.warpM = p.t.bm / p.t.warpsM;
  p.warpN = p.t.bn / p.t.warpsN;
  p.mi = p.warpM / 16;
  p.ni = p.warpN / 8;
  p.threads = p.t.threads();
  p.tilesM = ceilDiv(s.M, p.t.bm);
  p.tilesN = ceilDiv(s.N, p.t.bn);
  p.kTiles = ceilDiv(s.K, p.t.bk);

  auto setup = [&](Operand &o, char name, bool kContig, int mnTile, int64_t mnSize, int64_t ld, int64_t batchStride) {
    o.name = name;
    o.kContig = kContig;
    o.wordLoads = p.tf32 && !kContig;
    o.rows = kContig ? mnTile : p.t.bk;
    int cols = kContig ? p.t.bk : mnTile;
    o.rowChunks = cols / p.epc;
    o.rowBytes = o.rowChunks * 16;
    o.bytes = o.rows * o.rowBytes;
    o.ld = ld;
    o.batchStride = batchStride;
    o.rowLimit = kContig ? mnSize : s.K;
    o.colLimit = kContig ? s.K : mnSize;
    o.rowsAlwaysValid = o.rowLimit % o.rows == 0;
    o.colsAlwaysFull = o.colLimit % cols == 0;
    bool strideOk = p.batch.count == 1 || (batchStride * p.esz) % 16 == 0;
    o.aligned16 = (ld * p.esz) % 16 == 0 && strideOk;
  };
  // A stored [M, K] is k-contiguous; B stored [N, K] (transB) is too.
  setup(p.a, 'A', !s.transA, p.t.bm, s.M, s.ldA(), p.batch.strideA);
  setup(p.b, 'B', s.transB, p.t.bn, s.N, s.ldB(), p.batch.strideB);
  p.stageBytes = p.a.bytes + p.b.bytes;
  p.smemBytes = p.stageBytes * p.t.stages;
  return p;
}

/// cp.async (or the unaligned fallback) of one operand's k-tile `kt` into
/// the stage at shared address `stage` + the operand's offset.
void emitTileLoad(CudaWriter &w, const Plan &p, const Operand &o, const std::string &kt, const std::string &stage,
                  int offset) {
  int chunks = o.rows * o.rowChunks;
  int iters = int(ceilDiv(chunks, p.threads));
  std::string ptr = std::string(1, o.name) + "b";
  w.open("{  // ", std::string(1, o.name), " tile: ", o.rows, " rows x ", o.rowChunks, " chunks",
         o.aligned16 ? "" : " (unaligned rows: element loads)");
  w.line("#pragma unroll");
  w.open("for (int i = 0; i < ", iters, "; ++i) {");
  w.line("const int idx = tid + i * ", p.threads, ";");
  if (chunks % p.threads)
    w.open("if (idx < ", chunks, ") {");
  else
    w.open("{");
  w.line("const int r = idx >> ", log2i(o.rowChunks), ", c = idx & ", o.rowChunks - 1, ";");
  w.line("const unsigned dst = ", stage, " + ", offset, " + r * ", o.rowBytes, " + ((c ^ ", o.swizzle("r"),
         ") << 4);");
  // Row and column of the chunk's first element in the operand's storage.
  std::string rowBase = o.kContig ? (o.name == 'A' ? "m0" : "n0") : "(" + kt + ") * " + str(p.t.bk);
  std::string colBase = o.kContig ? "(" + kt + ") * " + str(p.t.bk) : (o.name == 'A' ? "m0" : "n0");
  w.line("const int gr = ", rowBase, " + r, gc = ", colBase, " + c * ", p.epc, ";");
  std::string rowOk = o.rowsAlwaysValid ? "true" : "gr < " + str(o.rowLimit);
  if (o.aligned16) {
    if (o.rowsAlwaysValid && o.colsAlwaysFull) {
      w.line("cp_async16(dst, ", ptr, " + ((long long)gr * ", o.ld, " + gc) * ", p.esz, ", 16);");
    } else {
      w.line("const int rem = ", o.colLimit, " - gc;");
      w.line("const int bytes = (", rowOk, ") ? (rem >= ", p.epc, " ? 16 : (rem > 0 ? rem * ", p.esz,
             " : 0)) : 0;");
      // No bytes read: any valid address will do, the base pointer is one.
      w.line("cp_async16(dst, bytes > 0 ? ", ptr, " + ((long long)gr * ", o.ld, " + gc) * ", p.esz, " : ", ptr,
             ", bytes);");
    }
  } else if (p.esz == 2) {
    w.line("const bool ok = ", rowOk, ";");
    w.line("const unsigned short *src = (const unsigned short *)(", ptr, ") + (ok ? (long long)gr * ", o.ld,
           " + gc : 0);");
    w.line("unsigned v[4];");
    w.line("#pragma unroll");
    w.open("for (int j = 0; j < 4; ++j) {");
    w.line("const unsigned lo = (ok && gc + 2 * j < ", o.colLimit, ") ? src[2 * j] : 0u;");
    w.line("const unsigned hi = (ok && gc + 2 * j + 1 < ", o.colLimit, ") ? src[2 * j + 1] : 0u;");
    w.line("v[j] = lo | (hi << 16);");
    w.close();
    w.line("st_shared_v4(dst, v[0], v[1], v[2], v[3]);");
  } else {
    w.line("const bool ok = ", rowOk, ";");
    w.line("const unsigned *src = (const unsigned *)(", ptr, ") + (ok ? (long long)gr * ", o.ld, " + gc : 0);");
    w.line("unsigned v[4];");
    w.line("#pragma unroll");
    w.line("for (int j = 0; j < 4; ++j) v[j] = (ok && gc + j < ", o.colLimit, ") ? src[j] : 0u;");
    w.line("st_shared_v4(dst, v[0], v[1], v[2], v[3]);");
  }
  w.close();
  w.close();
  w.close();
}

/// Per-thread constant parts of the fragment addresses (see the lane maps in
/// emitFragments).
void emitFragmentSetup(CudaWriter &w, const Plan &p) {
  const Operand &a = p.a, &b = p.b;
  w.line("const int lr = lane & 7;  // row within an 8x8 ldmatrix matrix");
  // A fragment (m16 x k): matrices (m0-7,k0) (m8-15,k0) (m0-7,k1) (m8-15,k1).
  if (a.kContig) {
    w.line("const int aRowOff = (wm * ", p.warpM, " + lr + ((lane >> 3) & 1) * 8) * ", a.rowBytes, ";");
    w.line("const int aPre = (((lane >> 4) & 1) ^ ", a.swizzle("lr"), ") << 4;");
  } else if (!a.wordLoads) {
    w.line("const int aKOff = (lr + ((lane >> 4) & 1) * 8) * ", a.rowBytes, ";");
    w.line("int aCol[", p.mi, "];");
    w.line("#pragma unroll");
    w.line("for (int mi = 0; mi < ", p.mi, "; ++mi) aCol[mi] = ((wm * ", p.warpM / 8, " + mi * 2 + ((lane >> 3) & 1)) ^ ",
           a.swizzle("lr"), ") << 4;");
  } else {
    // a0 = A[m=g][k=t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4].
    w.line("const int aKOff = (lane & 3) * ", a.rowBytes, ";");
    w.line("int aCol[", p.mi, "][2];");
    w.line("#pragma unroll");
    w.line("for (int mi = 0; mi < ", p.mi, "; ++mi)");
    w.line("#pragma unroll");
    w.line("  for (int h = 0; h < 2; ++h) aCol[mi][h] = (((wm * ", p.warpM / 4,
           " + mi * 4 + h * 2 + (lane >> 4)) ^ ((lane & 3) << 1)) << 4) + ((lane >> 2) & 3) * 4;");
  }
  // B fragment pairs (two n8 fragments): matrices (n0-7,k0) (n0-7,k1)
  // (n8-15,k0) (n8-15,k1) -> b[2j][0], b[2j][1], b[2j+1][0], b[2j+1][1].
  if (b.kContig) {
    w.line("const int bRowOff = (wn * ", p.warpN, " + lr + ((lane >> 4) & 1) * 8) * ", b.rowBytes, ";");
    w.line("const int bPre = (((lane >> 3) & 1) ^ ", b.swizzle("lr"), ") << 4;");
  } else if (!b.wordLoads) {
    w.line("const int bKOff = (lr + ((lane >> 3) & 1) * 8) * ", b.rowBytes, ";");
    w.line("int bCol[", p.ni / 2, "];");
    w.line("#pragma unroll");
    w.line("for (int nj = 0; nj < ", p.ni / 2, "; ++nj) bCol[nj] = ((wn * ", p.warpN / 8,
           " + nj * 2 + ((lane >> 4) & 1)) ^ ", b.swizzle("lr"), ") << 4;");
  } else {
    // b0 = B[k=t][n=g], b1 = B[t+4][g].
    w.line("const int bKOff = (lane & 3) * ", b.rowBytes, ";");
    w.line("int bCol[", p.ni, "];");
    w.line("#pragma unroll");
    w.line("for (int ni = 0; ni < ", p.ni, "; ++ni) bCol[ni] = (((wn * ", p.warpN / 4,
           " + ni * 2 + (lane >> 4)) ^ ((lane & 3) << 1)) << 4) + ((lane >> 2) & 3) * 4;");
  }
}

/// Fragments of k-step `ks` from the stage at `aS`/`bS`, then the mma's.
void emitFragmentsAndMma(CudaWriter &w, const Plan &p) {
  const Operand &a = p.a, &b = p.b;
  w.line("unsigned af[", p.mi, "][4], bfr[", p.ni, "][2];");
  w.line("#pragma unroll");
  w.open("for (int mi = 0; mi < ", p.mi, "; ++mi) {");
  if (a.kContig) {
    w.line("ldsm_x4(af[mi][0], af[mi][1], af[mi][2], af[mi][3], aS + aRowOff + mi * ", 16 * a.rowBytes,
           " + (((ks * 2) << 4) ^ aPre));");
  } else if (!a.wordLoads) {
    w.line("ldsm_x4_t(af[mi][0], af[mi][1], af[mi][2], af[mi][3], aS + ks * ", p.kstep * a.rowBytes,
           " + aKOff + aCol[mi]);");
  } else {
    w.line("const unsigned base = aS + ks * ", p.kstep * a.rowBytes, " + aKOff;");
    w.line("af[mi][0] = ld_shared_u32(base + aCol[mi][0]);");
    w.line("af[mi][1] = ld_shared_u32(base + aCol[mi][1]);");
    w.line("af[mi][2] = ld_shared_u32(base + ", 4 * a.rowBytes, " + aCol[mi][0]);");
    w.line("af[mi][3] = ld_shared_u32(base + ", 4 * a.rowBytes, " + aCol[mi][1]);");
  }
  if (p.tf32) {
    w.line("#pragma unroll");
    w.line("for (int q = 0; q < 4; ++q) af[mi][q] = cvt_tf32(af[mi][q]);");
  }
  w.close();
  if (b.wordLoads) {
    w.line("#pragma unroll");
    w.open("for (int ni = 0; ni < ", p.ni, "; ++ni) {");
    w.line("const unsigned base = bS + ks * ", p.kstep * b.rowBytes, " + bKOff + bCol[ni];");
    w.line("bfr[ni][0] = ld_shared_u32(base);");
    w.line("bfr[ni][1] = ld_shared_u32(base + ", 4 * b.rowBytes, ");");
    w.close();
  } else {
    w.line("#pragma unroll");
    w.open("for (int nj = 0; nj < ", p.ni / 2, "; ++nj) {");
    if (b.kContig)
      w.line("ldsm_x4(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0], bfr[2 * nj + 1][1], bS + bRowOff + nj * ",
             16 * b.rowBytes, " + (((ks * 2) << 4) ^ bPre));");
    else
      w.line("ldsm_x4_t(bfr[2 * nj][0], bfr[2 * nj][1], bfr[2 * nj + 1][0], bfr[2 * nj + 1][1], bS + ks * ",
             p.kstep * b.rowBytes, " + bKOff + bCol[nj]);");
    w.close();
  }
  if (p.tf32) {
    w.line("#pragma unroll");
    w.line("for (int ni = 0; ni < ", p.ni, "; ++ni) { bfr[ni][0] = cvt_tf32(bfr[ni][0]); bfr[ni][1] = cvt_tf32(bfr[ni][1]); }");
  }
  const char *mma = p.tf32 ? "mma_m16n8k8_tf32" : p.s.aType == DType::FLOAT16 ? "mma_m16n8k16<false>" : "mma_m16n8k16<true>";
  w.line("#pragma unroll");
  w.open("for (int mi = 0; mi < ", p.mi, "; ++mi) {");
  w.line("#pragma unroll");
  // Serpentine over n so consecutive mma's share an operand register set.
  w.line("for (int nn = 0; nn < ", p.ni, "; ++nn) { const int ni = (mi & 1) ? ", p.ni - 1, " - nn : nn; ", mma,
         "(acc[mi][ni], af[mi], bfr[ni]); }");
  w.close();
}

/// Epilogue statements turning accumulator `v` at (row, col) into the final
/// value (before the cast): alpha, bias, then the fused epilogue.
void emitEpilogueValue(CudaWriter &w, const Plan &p, const std::string &v, const std::string &col) {
  const GemmSpec &s = p.s;
  if (float(s.alpha) != 1.0f)
    w.line(v, " *= ", floatLit(float(s.alpha)), ";");
  if (s.hasBias) {
    std::string idx = "(long long)row * " + str(s.biasStrideM) + " + (long long)(" + col + ") * " +
                      str(s.biasStrideN);
    std::string load = std::string("tcg_ld_") + typeSuffix(s.biasType) + "(biasb, " + idx + ")";
    w.line(v, " += ", float(s.beta) == 1.0f ? load : floatLit(float(s.beta)) + " * " + load, ";");
  }
  if (!s.epilogue.empty())
    w.line(v, " = epilogue(", v, ", bz, row, ", col, ");");
}

void emitEpilogue(CudaWriter &w, const Plan &p) {
  const GemmSpec &s = p.s;
  bool rowsFull = s.M % p.t.bm == 0, colsFull = s.N % p.t.bn == 0;
  bool nEven = s.N % 2 == 0;
  // Pair stores need the even column to sit on a pair boundary in memory.
  bool pairs = p.ldc % 2 == 0 && (p.batch.count == 1 || p.batchStrideC % 2 == 0);
  std::string ct = typeSuffix(s.yType);
  w.line("const int g = lane >> 2, t4 = lane & 3;");
  w.line("#pragma unroll");
  w.open("for (int mi = 0; mi < ", p.mi, "; ++mi) {");
  w.line("#pragma unroll");
  w.open("for (int ni = 0; ni < ", p.ni, "; ++ni) {");
  w.line("#pragma unroll");
  w.open("for (int h = 0; h < 2; ++h) {");
  w.line("const int row = m0 + wm * ", p.warpM, " + mi * 16 + h * 8 + g;");
  w.line("const int col = n0 + wn * ", p.warpN, " + ni * 8 + t4 * 2;");
  std::string guard;
  if (!rowsFull)
    guard = "row < " + str(s.M);
  if (!colsFull)
    guard += (guard.empty() ? "" : " && ") + std::string("col < ") + str(s.N);
  w.open("if (", guard.empty() ? "true" : guard, ") {");
  w.line("float v0 = acc[mi][ni][2 * h], v1 = acc[mi][ni][2 * h + 1];");
  w.line("const bool has1 = ", nEven ? "true" : "col + 1 < " + str(s.N), ";");
  emitEpilogueValue(w, p, "v0", "col");
  w.open("if (has1) {");
  emitEpilogueValue(w, p, "v1", "col + 1");
  w.close();
  w.line("const long long ci = (long long)row * ", p.ldc, " + col;");
  if (pairs) {
    w.line("if (has1) tcg_st2_", ct, "(Cb, ci, v0, v1);");
    w.line("else tcg_st_", ct, "(Cb, ci, v0);");
  } else {
    w.line("tcg_st_", ct, "(Cb, ci, v0);");
    w.line("if (has1) tcg_st_", ct, "(Cb, ci + 1, v1);");
  }
  w.close();
  w.close();
  w.close();
  w.close();
}

} // namespace

bool coalesceBatch(const GemmSpec &s, BatchLoop &loop) {
  loop = BatchLoop();
  loop.count = s.batch();
  if (loop.count <= 1)
    return true;
  if (s.aBatchStrides.size() != s.batchDims.size() || s.bBatchStrides.size() != s.batchDims.size())
    return false;
  // Innermost non-unit dim first: each outer dim must step by the inner
  // dims' extent times the innermost step.
  int64_t expectA = -1, expectB = -1, inner = 1;
  for (size_t d = s.batchDims.size(); d-- > 0;) {
    if (s.batchDims[d] == 1)
      continue;
    int64_t sa = s.aBatchStrides[d], sb = s.bBatchStrides[d];
    if (expectA < 0) {
      expectA = sa, expectB = sb;
    } else if (sa != expectA * inner || sb != expectB * inner) {
      return false;
    }
    inner *= s.batchDims[d];
  }
  loop.strideA = expectA < 0 ? 0 : expectA;
  loop.strideB = expectB < 0 ? 0 : expectB;
  return true;
}

void emitEpilogueLambda(CudaWriter &w, const GemmEpilogue &e, const std::string &valueType) {
  w.open("auto epilogue = [&](", valueType, " v, long long bz, int row, int col) -> ", valueType, " {  // fused epilogue");
  for (size_t at = 0; at < e.code.size();) {
    size_t end = std::min(e.code.find('\n', at), e.code.size());
    if (end > at)
      w.line(e.code.substr(at, end - at));
    at = end + 1;
  }
  w.line("return v;");
  w.close("};");
}

std::string unsupportedReason(const GemmSpec &s) {
  auto isOperandType = [](DType t) { return t == DType::FLOAT32 || t == DType::FLOAT16 || t == DType::BFLOAT16; };
  if (s.batch() <= 0 || s.M <= 0 || s.N <= 0 || s.K <= 0)
    return "empty problem (batch, M, N and K must be positive)";
  const int64_t kMaxDim = int64_t(1) << 30;
  if (s.M > kMaxDim || s.N > kMaxDim || s.K > kMaxDim)
    return "a dimension exceeds 2^30 (32-bit index math inside a tile)";
  if (!isOperandType(s.aType) || s.aType != s.bType)
    return "A and B must share one dtype among float32, float16, bfloat16";
  if (!isOperandType(s.yType))
    return "C must be float32, float16 or bfloat16";
  if (s.hasBias && !isOperandType(s.biasType))
    return "bias must be float32, float16 or bfloat16";
  if (!std::isfinite(float(s.alpha)) || !std::isfinite(float(s.beta)))
    return "alpha and beta must be finite";
  if (s.lda < 0 || s.ldb < 0 || s.ldc < 0)
    return "negative leading dimension";
  if (s.ldA() < (s.transA ? s.M : s.K) || s.ldB() < (s.transB ? s.K : s.N) || s.ldC() < s.N)
    return "a leading dimension is shorter than its row";
  BatchLoop loop;
  if (!coalesceBatch(s, loop))
    return "batch dims do not coalesce into one stride per operand";
  if (loop.strideA < 0 || loop.strideB < 0)
    return "negative batch stride";
  if (s.tile.bm > 0) {
    const TileConfig &t = s.tile;
    int esz = elemSize(s.aType);
    if (!isPow2(t.bm) || !isPow2(t.bn) || !isPow2(t.bk) || t.warpsM <= 0 || t.warpsN <= 0)
      return "tile sizes must be powers of two";
    if (t.bm % (16 * t.warpsM) || t.bn % (16 * t.warpsN))
      return "warp tile must be a multiple of 16x16";
    if (t.bk % (s.aType == DType::FLOAT32 ? 8 : 16) || t.bk * esz < 32)
      return "bk must be a multiple of the mma k and span two 16-byte chunks";
    if (t.stages < 2 || t.stages > 8)
      return "stages must be in [2, 8]";
    if (t.threads() > 1024)
      return "too many warps";
    // fp32 m/n-contiguous tiles swizzle over 8 chunks: 32 elements wide.
    if (s.aType == DType::FLOAT32 && ((s.transA && t.bm < 32) || (!s.transB && t.bn < 32)))
      return "fp32 m/n-contiguous operands need bm/bn >= 32";
    int64_t smem = int64_t(t.stages) * (t.bm + t.bn) * t.bk * esz;
    if (smem > 227 * 1024)
      return "tile needs more than 227 KiB of shared memory";
  }
  return "";
}

std::string emitTensorCoreGemm(const GemmSpec &spec, const std::string &name, LaunchDims *launch) {
  if (!unsupportedReason(spec).empty())
    return "";
  Plan p = makePlan(spec);
  const GemmSpec &s = p.s;
  const TileConfig &t = p.t;
  CudaWriter w;

  w.line("// effc tensor-core GEMM: C[", p.batch.count, "][", s.M, "][", s.N, "] = ",
         float(s.alpha) == 1.0f ? "" : "alpha * ", "A", s.transA ? "^T" : "", " * B", s.transB ? "^T" : "",
         s.hasBias ? " + bias" : "", s.epilogue.empty() ? "" : ", fused epilogue", ", K = ", s.K, "; ",
         typeSuffix(s.aType), " -> ", typeSuffix(s.yType));
  w.line("// tile ", tileName(t), ", ", p.tf32 ? "mma m16n8k8 tf32" : "mma m16n8k16", ", smem ", p.smemBytes,
         " B");
  std::string params = "const void *__restrict__ A_, const void *__restrict__ B_";
  if (s.hasBias)
    params += ", const void *__restrict__ bias_";
  // The fused epilogue's inputs: every kernel input after A, B and the bias.
  for (int k = s.hasBias ? 3 : 2; k < s.numInputs; ++k)
    params += ", const void *__restrict__ in" + std::to_string(k);
  params += ", void *__restrict__ C_";
  w.open("EFFC_KERNEL void __launch_bounds__(", p.threads, ", 1) ", name, "(", params, ") {");
  if (!s.epilogue.empty())
    emitEpilogueLambda(w, s.epilogue, "float");
  w.line("extern __shared__ __align__(128) unsigned char ", name, "_smem[];");
  w.line("const unsigned smem = smem_u32(", name, "_smem);");
  w.line("const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;");
  w.line("const int wm = warp / ", t.warpsN, ", wn = warp % ", t.warpsN, ";");
  // Grouped raster: 8 tile-rows per group walk all tile-columns, so the
  // CTAs resident at one time touch few B panels.
  w.line("const int pid = blockIdx.x, group = pid / ", 8 * p.tilesN, ", firstM = group * 8;");
  w.line("const int gsz = min(", p.tilesM, " - firstM, 8);");
  w.line("const int m0 = (firstM + (pid % ", 8 * p.tilesN, ") % gsz) * ", t.bm, ";");
  w.line("const int n0 = ((pid % ", 8 * p.tilesN, ") / gsz) * ", t.bn, ";");
  emitFragmentSetup(w, p);

  const int64_t batch = p.batch.count;
  int64_t zGrid = std::min<int64_t>(batch, 65535);
  w.open("for (long long bz = blockIdx.z; bz < ", batch, "LL; bz += ", zGrid, ") {");
  auto batchPtr = [&](const std::string &dst, const std::string &src, int64_t stride, int esz, bool isConst) {
    std::string cq = isConst ? "const " : "";
    if (stride == 0 || batch == 1)
      w.line(cq, "char *", dst, " = (", cq, "char *)", src, ";");
    else
      w.line(cq, "char *", dst, " = (", cq, "char *)", src, " + bz * ", stride * esz, "LL;");
  };
  batchPtr("Ab", "A_", p.a.batchStride, p.esz, true);
  batchPtr("Bb", "B_", p.b.batchStride, p.esz, true);
  if (s.hasBias)
    batchPtr("biasb", "bias_", 0, elemSize(s.biasType), true);
  batchPtr("Cb", "C_", p.batchStrideC, elemSize(s.yType), false);

  w.line("float acc[", p.mi, "][", p.ni, "][4];");
  w.line("#pragma unroll");
  w.line("for (int i = 0; i < ", p.mi, "; ++i)");
  w.line("#pragma unroll");
  w.line("  for (int j = 0; j < ", p.ni, "; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;");

  // Prologue: stages-1 k-tiles in flight.
  w.line("#pragma unroll");
  w.open("for (int s = 0; s < ", t.stages - 1, "; ++s) {");
  w.open("if (s < ", p.kTiles, ") {");
  w.line("const unsigned st = smem + s * ", p.stageBytes, ";");
  emitTileLoad(w, p, p.a, "s", "st", 0);
  emitTileLoad(w, p, p.b, "s", "st", p.a.bytes);
  w.close();
  w.line("cp_async_commit();");
  w.close();

  // Main loop. At iteration kt, (stages-1)+kt groups are committed; waiting
  // until at most stages-2 are pending completes tile kt. The barrier also
  // tells every warp that stage (kt-1)%stages is consumed, so it can be
  // refilled with tile kt+stages-1.
  w.open("for (int kt = 0; kt < ", p.kTiles, "; ++kt) {");
  w.line("cp_async_wait<", t.stages - 2, ">();");
  w.line("__syncthreads();");
  w.open("{");
  w.line("const int nk = kt + ", t.stages - 1, ";");
  w.open("if (nk < ", p.kTiles, ") {");
  w.line("const unsigned st = smem + (nk % ", t.stages, ") * ", p.stageBytes, ";");
  emitTileLoad(w, p, p.a, "nk", "st", 0);
  emitTileLoad(w, p, p.b, "nk", "st", p.a.bytes);
  w.close();
  w.line("cp_async_commit();");
  w.close();
  w.line("const unsigned aS = smem + (kt % ", t.stages, ") * ", p.stageBytes, ", bS = aS + ", p.a.bytes, ";");
  w.line("#pragma unroll");
  w.open("for (int ks = 0; ks < ", t.bk / p.kstep, "; ++ks) {");
  emitFragmentsAndMma(w, p);
  w.close();
  w.close();
  // Empty groups may be pending; the next batch's prologue must not
  // overwrite stages a slower warp still reads.
  w.line("cp_async_wait<0>();");
  if (batch > zGrid)
    w.line("__syncthreads();");
  emitEpilogue(w, p);
  w.close(); // batch loop
  w.close(); // kernel

  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t(p.tilesM * p.tilesN);
    launch->grid[2] = uint32_t(zGrid);
    launch->block[0] = uint32_t(p.threads);
    launch->sharedBytes = uint32_t(p.smemBytes);
  }
  return w.str();
}

} // namespace effc::codegen::tcgemm
