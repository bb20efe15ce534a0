//===- Gemm.cpp - tensor-core or shared-memory tiled FFMA GEMM -------------===//
//
// The FFMA kernel covers what the tensor-core kernel does not (fp32, fp64,
// integer operands, batch dims that do not coalesce): correct for every
// shape, layout and dtype, reasonably fast. Its body is the ffma_gemm
// template of compiler/codegen/device/ffma_gemm.cuh (64x64x16 tiles, 4x4 per
// thread); this file writes its config struct, the dtype glue lambdas, the
// fused epilogue lambda and the EFFC_KERNEL wrapper.
//
#include "compiler/codegen/gemm/Gemm.h"

#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"

#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {

namespace {
// The ffma_gemm template's tile and block (launch geometry).
constexpr int kBM = 64, kBN = 64, kThreads = 256;
} // namespace

Compute accumulatorKind(const GemmSpec &s) {
  bool wide = s.aType == DType::FLOAT64 || computeOf(s.aType) == Compute::I64 ||
              computeOf(s.aType) == Compute::Bool;
  return wide ? Compute::F64 : Compute::F32;
}

namespace {
/// 16-bit A and B of one dtype as kernel inputs 0 and 1 (bias 2): what both
/// tensor-core generators take.
bool tensorCoreOperands(const GemmSpec &s) {
  bool half = s.aType == DType::FLOAT16 || s.aType == DType::BFLOAT16;
  if (!half || s.bType != s.aType)
    return false;
  // The generators' ABI is A, B, [bias], [epilogue inputs], C: the kernel
  // inputs must come in that order (else the FFMA kernel takes it).
  return s.aInput == 0 && s.bInput == 1 && (!s.hasBias || s.biasInput == 2);
}
} // namespace

bool usesWgmma(const GemmSpec &s) {
  return s.sm90a && tensorCoreOperands(s) && wgmma::unsupportedReason(s).empty();
}

bool usesTensorCores(const GemmSpec &s) {
  return tensorCoreOperands(s) && (usesWgmma(s) || tcgemm::unsupportedReason(s).empty());
}

namespace {
/// The FFMA kernel takes packed operands only; padded rows are the
/// tensor-core kernel's.
bool ffmaHandles(const GemmSpec &s) {
  return (s.lda == 0 || s.lda == (s.transA ? s.M : s.K)) &&
         (s.ldb == 0 || s.ldb == (s.transB ? s.K : s.N)) && (s.ldc == 0 || s.ldc == s.N);
}
} // namespace

CudaKernel planGemm(const KernelDesc &desc, const GemmSpec &s) {
  CudaKernel k;
  k.name = desc.name;
  if (usesWgmma(s)) {
    // Its device code is wgmma::wgmmaGemmPrelude() (hopper.cuh and
    // wgmma_gemm.cuh on top of the GEMM prelude).
    k.launch = wgmma::wgmmaGemmLaunch(s);
    k.needsHopperPrelude = true;
  } else if (usesTensorCores(s)) {
    k.launch = tcgemm::tensorCoreGemmLaunch(s);
  } else if (ffmaHandles(s)) {
    k.launch.grid[0] = uint32_t(std::max<int64_t>(1, ceilDiv(s.M, kBM)));
    k.launch.grid[1] = uint32_t(std::clamp<int64_t>(ceilDiv(s.N, kBN), 1, 65535));
    k.launch.grid[2] = uint32_t(std::clamp<int64_t>(s.batch(), 1, 65535));
    k.launch.block[0] = kThreads;
    if (s.hasRuntimeRows()) // M tiles of this run
      k.launch.followRuntime(0, s.runtimeRows, kBM, k.launch.grid[0]);
  } else {
    return k;
  }
  // Both templates come with the GEMM device code, which the translation
  // unit emits once (not per kernel).
  k.needsGemmPrelude = true;
  return k;
}

CudaKernel emitGemm(const KernelDesc &desc, const GemmSpec &s) {
  CudaKernel k = planGemm(desc, s);
  if (usesWgmma(s)) {
    k.source = wgmma::emitWgmmaGemm(s, desc.name);
    return k;
  }
  if (usesTensorCores(s)) {
    k.source = tcgemm::emitTensorCoreGemm(s, desc.name);
    return k;
  }
  if (!ffmaHandles(s))
    return k;
  Compute acc = accumulatorKind(s);
  bool wide = acc == Compute::F64;
  const char *at = computeType(acc);
  int64_t batch = s.batch();
  std::string ix = indexType(desc);
  // Batch offsets of A and B over the coalesced batch dims.
  IndexSpace space;
  space.dims = s.batchDims;
  space.strides.push_back(s.aBatchStrides);
  space.strides.push_back(s.bBatchStrides);
  space = coalesce(space);
  auto list = [](const std::vector<int64_t> &v) {
    std::string t;
    for (int64_t x : v)
      t += (t.empty() ? "" : ", ") + std::to_string(x);
    return t.empty() ? std::string("0") : t; // a rank-0 config keeps one unused entry
  };
  auto scalar = [&](double v) { return wide ? doubleLit(v) : floatLit(float(v)); };
  auto flag = [](bool b) { return b ? "true" : "false"; };
  const std::string cfg = "effc_ffma_cfg_" + desc.name;
  const size_t rank = space.dims.size();

  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("typedef ", ix, " Index;");
  w.line("static constexpr int M = ", s.M, ", N = ", s.N, ", K = ", s.K, ", BATCH = ", batch,
         ", BATCH_RANK = ", rank, ";");
  w.line("static constexpr long long BATCH_DIMS[] = {", list(space.dims),
         "}, A_BATCH_STRIDES[] = {", list(space.strides[0]), "}, B_BATCH_STRIDES[] = {",
         list(space.strides[1]), "};");
  w.line("static constexpr bool TRANS_A = ", flag(s.transA), ", TRANS_B = ", flag(s.transB),
         ", HAS_BIAS = ", flag(s.hasBias), ", EPILOGUE = ", flag(!s.epilogue.empty()), ";");
  w.line("static constexpr bool HAS_ALPHA = ", flag(s.alpha != 1.0),
         ", HAS_BETA = ", flag(s.beta != 1.0), ";");
  w.line("static constexpr ", at, " ALPHA = ", scalar(s.alpha), ", BETA = ", scalar(s.beta), ";");
  w.line("static constexpr long long BIAS_STRIDE_M = ", s.biasStrideM,
         ", BIAS_STRIDE_N = ", s.biasStrideN, ";");
  w.close("};");
  openKernel(w, desc, kThreads);
  if (s.hasRuntimeRows()) // M tiles on grid.x: whole tiles past this run's rows
    w.line("if (", ix, "(blockIdx.x) * ", kBM, " >= ", ix, s.runtimeRows.text(), ") return;");
  w.line("// Y[", batch, "][", s.M, "][", s.N, "] = ", s.alpha == 1.0 ? "" : "alpha * ", "A",
         s.transA ? "^T" : "", " * B", s.transB ? "^T" : "", s.hasBias ? " + beta * C" : "",
         s.epilogue.empty() ? "" : ", fused epilogue", ", K = ", s.K);
  if (!s.epilogue.empty())
    tcgemm::emitEpilogueLambda(w, s.epilogue, at);
  else
    w.line("auto epilogue = [](", at,
           " v, long long, int, int) { return v; };  // no fused epilogue");
  // The dtype glue: element loads as the accumulator kind, the cast on store.
  auto loader = [&](const char *name, DType t, int input) {
    w.line("auto ", name, " = [&](", ix, " i) -> ", at, " { return ",
           loadAs(t, "x" + std::to_string(input), "i", acc), "; };");
  };
  loader("loadA", s.aType, s.aInput);
  loader("loadB", s.bType, s.bInput);
  if (s.hasBias)
    loader("loadBias", s.biasType, s.biasInput);
  else
    w.line("auto loadBias = [&](", ix, ") -> ", at, " { return 0; };  // no bias");
  w.line("auto store = [&](", ix, " i, ", at, " v) { y0[i] = ", storeValue(s.yType, "v", acc),
         "; };");
  w.line("ffma_gemm<", cfg, ", ", at, ">(loadA, loadB, loadBias, store, epilogue);");
  w.close(); // kernel

  k.source = w.str();
  return k;
}

} // namespace effc::codegen
