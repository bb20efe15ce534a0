//===- Gemm.cpp - tensor-core or shared-memory tiled FFMA GEMM -------------===//
//
// The FFMA kernel covers what the tensor-core kernel does not (fp32, fp64,
// integer operands, batch dims that do not coalesce): correct for every
// shape, layout and dtype, reasonably fast. 256 threads compute a 64x64 tile of Y; each
// K step stages a 64x16 slice of A and a 16x64 slice of B in shared memory
// (zero-filled at the edges, loaded along each operand's contiguous dim)
// and each thread accumulates a 4x4 strided micro-tile in registers.
//
#include "compiler/codegen/gemm/Gemm.h"

#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include "compiler/codegen/DTypeInfo.h"
#include "compiler/codegen/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {

namespace {
constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;
} // namespace

Compute accumulatorKind(const GemmSpec &s) {
  bool wide = s.aType == DType::FLOAT64 || computeOf(s.aType) == Compute::I64 ||
              computeOf(s.aType) == Compute::Bool;
  return wide ? Compute::F64 : Compute::F32;
}

bool usesTensorCores(const GemmSpec &s) {
  bool half = s.aType == DType::FLOAT16 || s.aType == DType::BFLOAT16;
  if (!half || s.bType != s.aType)
    return false;
  // The generator's ABI is A, B, [bias], [epilogue inputs], C: the kernel
  // inputs must come in that order (else the FFMA kernel takes it).
  if (s.aInput != 0 || s.bInput != 1 || (s.hasBias && s.biasInput != 2))
    return false;
  return tcgemm::unsupportedReason(s).empty();
}

CudaKernel emitGemm(const KernelDesc &desc, const GemmSpec &s) {
  if (usesTensorCores(s)) {
    CudaKernel kernel;
    kernel.name = desc.name;
    // The translation unit emits the GEMM's device code once (not per kernel).
    kernel.source = tcgemm::emitTensorCoreGemm(s, desc.name, &kernel.launch);
    kernel.needsGemmPrelude = true;
    return kernel;
  }
  CudaKernel k;
  k.name = desc.name;
  // Tensors effc plans are packed; padded rows are the tensor-core kernel's.
  bool packed = (s.lda == 0 || s.lda == (s.transA ? s.M : s.K)) &&
                (s.ldb == 0 || s.ldb == (s.transB ? s.K : s.N)) && (s.ldc == 0 || s.ldc == s.N);
  if (!packed)
    return k;
  Compute acc = accumulatorKind(s);
  bool wide = acc == Compute::F64;
  const char *at = computeType(acc);
  int64_t batch = s.batch();
  std::string ix = indexType(desc);

  CudaWriter w;
  openKernel(w, desc, kThreads);
  w.line("// Y[", batch, "][", s.M, "][", s.N, "] = ", s.alpha == 1.0 ? "" : "alpha * ", "A",
         s.transA ? "^T" : "", " * B", s.transB ? "^T" : "", s.hasBias ? " + beta * C" : "",
         s.epilogue.empty() ? "" : ", fused epilogue", ", K = ", s.K);
  if (!s.epilogue.empty())
    tcgemm::emitEpilogueLambda(w, s.epilogue, at);
  w.line("__shared__ ", at, " As[", kBK, "][", kBM + 1, "];  // +1: no bank conflicts on transposed stores");
  w.line("__shared__ ", at, " Bs[", kBK, "][", kBN + 1, "];");
  w.line("const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;");
  // M tiles on grid.x (no 65535 limit: M = tokens can be large), N on grid.y.
  w.line("const int m0 = blockIdx.x * ", kBM, ", n0 = blockIdx.y * ", kBN, ";");
  w.open("for (int bz = blockIdx.z; bz < ", batch, "; bz += gridDim.z) {");
  // Batch offsets of A and B (broadcast batch dims have stride 0).
  IndexSpace space;
  space.dims = s.batchDims;
  space.strides.push_back(s.aBatchStrides);
  space.strides.push_back(s.bBatchStrides);
  space = coalesce(space);
  if (space.dims.empty()) {
    w.line("const ", ix, " aOff = 0, bOff = 0;");
  } else {
    emitCoords(w, "bz", ix, space.dims, "bc");
    std::string aOff, bOff;
    for (size_t d = 0; d < space.dims.size(); ++d) {
      std::string c = "bc" + std::to_string(d);
      if (space.strides[0][d])
        aOff += (aOff.empty() ? "" : " + ") + c + " * " + std::to_string(space.strides[0][d]);
      if (space.strides[1][d])
        bOff += (bOff.empty() ? "" : " + ") + c + " * " + std::to_string(space.strides[1][d]);
    }
    w.line("const ", ix, " aOff = ", aOff.empty() ? "0" : aOff, ", bOff = ", bOff.empty() ? "0" : bOff,
           ";");
  }
  w.line(at, " acc[4][4];");
  w.line("#pragma unroll");
  w.line("for (int i = 0; i < 4; ++i)");
  w.line("  for (int j = 0; j < 4; ++j) acc[i][j] = 0;");
  w.open("for (int k0 = 0; k0 < ", s.K, "; k0 += ", kBK, ") {");
  w.line("#pragma unroll");
  w.open("for (int e = 0; e < 4; ++e) {");
  w.line("const int lin = threadIdx.x + ", kThreads, " * e;");
  // Consecutive threads walk each operand's contiguous dim.
  if (s.transA)
    w.line("const int ak = lin >> 6, am = lin & 63;");
  else
    w.line("const int am = lin >> 4, ak = lin & 15;");
  w.line("const int gm = m0 + am, gka = k0 + ak;");
  std::string aIdx = s.transA ? "aOff + (" + ix + ")gka * " + std::to_string(s.M) + " + gm"
                              : "aOff + (" + ix + ")gm * " + std::to_string(s.K) + " + gka";
  w.line("As[ak][am] = (gm < ", s.M, " && gka < ", s.K, ") ? ", loadAs(s.aType, "x" + std::to_string(s.aInput), aIdx, acc), " : (",
         at, ")0;");
  if (s.transB)
    w.line("const int bn = lin >> 4, bk = lin & 15;");
  else
    w.line("const int bk = lin >> 6, bn = lin & 63;");
  w.line("const int gn = n0 + bn, gkb = k0 + bk;");
  std::string bIdx = s.transB ? "bOff + (" + ix + ")gn * " + std::to_string(s.K) + " + gkb"
                              : "bOff + (" + ix + ")gkb * " + std::to_string(s.N) + " + gn";
  w.line("Bs[bk][bn] = (gkb < ", s.K, " && gn < ", s.N, ") ? ", loadAs(s.bType, "x" + std::to_string(s.bInput), bIdx, acc), " : (",
         at, ")0;");
  w.close();
  w.line("__syncthreads();");
  w.line("#pragma unroll");
  w.open("for (int kk = 0; kk < ", kBK, "; ++kk) {");
  w.line(at, " a[4], b[4];");
  w.line("#pragma unroll");
  w.line("for (int i = 0; i < 4; ++i) a[i] = As[kk][ty + 16 * i];");
  w.line("#pragma unroll");
  w.line("for (int j = 0; j < 4; ++j) b[j] = Bs[kk][tx + 16 * j];");
  w.line("#pragma unroll");
  w.line("for (int i = 0; i < 4; ++i)");
  w.line("  for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * b[j];");
  w.close();
  w.line("__syncthreads();");
  w.close();
  w.line("#pragma unroll");
  w.open("for (int i = 0; i < 4; ++i) {");
  w.line("const int m = m0 + ty + 16 * i;");
  w.line("if (m >= ", s.M, ") break;");
  w.line("#pragma unroll");
  w.open("for (int j = 0; j < 4; ++j) {");
  w.line("const int n = n0 + tx + 16 * j;");
  w.line("if (n >= ", s.N, ") break;");
  std::string v = "acc[i][j]";
  if (s.alpha != 1.0)
    v = (wide ? doubleLit(s.alpha) : floatLit(float(s.alpha))) + " * " + v;
  if (s.hasBias) {
    std::string cIdx = "(" + ix + ")m * " + std::to_string(s.biasStrideM) + " + (" + ix + ")n * " +
                       std::to_string(s.biasStrideN);
    std::string c = loadAs(s.biasType, "x" + std::to_string(s.biasInput), cIdx, acc);
    if (s.beta != 1.0)
      c = (wide ? doubleLit(s.beta) : floatLit(float(s.beta))) + " * " + c;
    v += " + " + c;
  }
  if (!s.epilogue.empty()) {
    w.line("const ", at, " r = epilogue(", v, ", bz, m, n);");
    v = "r";
  }
  w.line("y0[((", ix, ")bz * ", s.M, " + m) * ", s.N, " + n] = ", storeValue(s.yType, v, acc), ";");
  w.close();
  w.close();
  w.close(); // batch loop
  w.close(); // kernel

  k.source = w.str();
  k.launch.grid[0] = uint32_t(std::max<int64_t>(1, ceilDiv(s.M, kBM)));
  k.launch.grid[1] = uint32_t(std::clamp<int64_t>(ceilDiv(s.N, kBN), 1, 65535));
  k.launch.grid[2] = uint32_t(std::clamp<int64_t>(batch, 1, 65535));
  k.launch.block[0] = kThreads;
  return k;
}

} // namespace effc::codegen
