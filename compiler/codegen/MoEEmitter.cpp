//===- MoEEmitter.cpp - eff.moe and its stages ----------------------------===//
//
// eff.moe itself (what eff-lower-moe leaves, e.g. float64): a config struct
// with every size baked in, the dtype glue as a loader struct and a call of
// moe_token<C> (device/moe.cuh): one block per token, routing in fp32.
// The stages eff-lower-moe builds (eff.moe_permute, eff.moe_expert_gemm,
// eff.moe_combine) come from the MLIR-free generators of compiler/codegen/moe
// (shared with effc-moe-bench): the choice is their launch, the variant says
// which kernel (expert GEMMs: grouped wgmma GEMM on sm_90a where
// moe::wantsWgmma asks for it and it fits, grouped mma.sync GEMM, or GEMV).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "compiler/codegen/moe/MoEKernels.h"

#include <algorithm>

namespace effc::codegen {
namespace {

constexpr int kThreads = 256;
// xs[H] + acc[H] + hs[threads] + scores[E] floats must stay under the 48 KiB
// of static shared memory.
constexpr int64_t kStaticSharedBytes = 48 * 1024;

enum Input : size_t { X, Router, GateUp, Down, RouteWeights, SharedGateUp, SharedDown, SharedGate };

struct MoEGeometry {
  int64_t T, H, E, I, Is, k, routing;
  bool gelu, normTopk;
  double routedScale;
};

bool describeMoE(const KernelDesc &d, MoEGeometry &g, std::string &error) {
  if (d.inputs.size() != 8 || d.outputs.size() != 1) {
    error = d.op + ": expected 8 kernel inputs (absent ones included) and one output";
    return false;
  }
  const TensorDesc &x = d.inputs[X], &gu = d.inputs[GateUp];
  if (x.shape.size() != 2 || gu.shape.size() != 3) {
    error = d.op + ": x must be [T, H] and gate_up [E, 2I, H]";
    return false;
  }
  g.T = x.shape[0];
  g.H = x.shape[1];
  g.E = d.intAttr("num_experts", 0);
  g.k = d.intAttr("top_k", 0);
  g.I = gu.shape[1] / 2;
  g.Is = d.hasInput(SharedGateUp) ? d.inputs[SharedGateUp].shape[0] / 2 : 0;
  std::string routing = d.stringAttr("routing", "softmax_topk");
  g.routing = routing == "softmax_topk" ? 0 : routing == "topk_softmax" ? 1 : 2;
  g.gelu = d.stringAttr("activation", "silu") == "gelu";
  g.normTopk = d.intAttr("norm_topk", 0) != 0;
  g.routedScale = d.floatAttr("routed_scale", 1.0);
  int64_t shared = 4 * (2 * g.H + kThreads + g.E + 2 * g.k + 32);
  if (shared > kStaticSharedBytes) {
    error = d.op + ": hidden size " + std::to_string(g.H) +
            " needs more static shared memory than the per-token MoE kernel has (" +
            std::to_string(shared) + " > " + std::to_string(kStaticSharedBytes) + " bytes)";
    return false;
  }
  for (size_t i : {size_t(X), size_t(Router), size_t(GateUp), size_t(Down)})
    if (!isFloatCompute(computeOf(d.inputs[i].dtype))) {
      error = d.op + ": float operands expected";
      return false;
    }
  return true;
}

/// A stage op's kernel from the compiler/codegen/moe generators: its text
/// (for `name`), launch and TMA tensor maps, or false with the generator's
/// reason. `variant` names the kernel.
bool emitStage(const KernelDesc &d, std::string &source, LaunchDims &launch, std::string &variant,
               std::vector<TensorMapDesc> &tensorMaps, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = d.op + ": " + why;
    return false;
  };
  auto shapeIs = [&](size_t i, size_t rank) {
    return d.hasInput(i) && d.inputs[i].shape.size() == rank;
  };
  std::string why;
  if (d.is(EffOp::MoEPermuteOp)) {
    if (!shapeIs(0, 2))
      return fail("experts must be [T, k]");
    moe::PermuteSpec s{d.inputs[0].shape[0], d.intAttr("num_experts", 0), d.inputs[0].shape[1]};
    variant = "permute";
    return moe::emitPermute(s, d.name, source, launch, why) || fail(why);
  }
  if (d.is(EffOp::MoEExpertGemmOp)) {
    if (!shapeIs(0, 2) || !shapeIs(1, 3))
      return fail("a must be [rows, KD] and w [G, N, KD]");
    moe::ExpertGemmSpec s;
    s.gated = d.intAttr("gated", 0) != 0;
    s.gelu = d.stringAttr("activation", "silu") == "gelu";
    s.K = d.intAttr("top_k", 1);
    s.E = d.inputs[1].shape[0];
    s.N = d.inputs[1].shape[1] / (s.gated ? 2 : 1);
    s.KD = d.inputs[1].shape[2];
    s.dtype = d.inputs[0].dtype;
    s.wgmma = moe::wantsWgmma(d.sm90a, d.gemm);
    s.tma = moe::wantsWgmmaTma(d.sm90a, d.gemm);
    std::string rows = d.stringAttr("rows", "sorted");
    if (rows == "dense") {
      s.rows = moe::Rows::Dense;
      s.T = d.inputs[0].shape[0];
      s.K = 1;
    } else if (rows == "slots" && shapeIs(2, 2)) {
      s.rows = moe::Rows::Slots;
      s.T = d.inputs[2].shape[0];
    } else if (rows == "sorted" && shapeIs(2, 1) && s.K > 0) {
      s.rows = moe::Rows::Sorted;
      s.T = (d.inputs[2].shape[0] - s.E - 1) / 2 / s.K;
    } else {
      return fail("rows '" + rows + "' with that index");
    }
    variant = moe::usesWgmmaTma(s)      ? "grouped-wgmma-tma"
              : moe::usesWgmma(s)       ? "grouped-wgmma"
              : moe::usesTensorCores(s) ? "grouped-mma"
                                        : "gemv";
    tensorMaps = moe::expertGemmTmaMaps(s);
    return moe::emitExpertGemm(s, d.name, source, launch, why) || fail(why);
  }
  if (d.is(EffOp::MoECombineOp)) {
    if (!shapeIs(0, 2) || !shapeIs(2, 2))
      return fail("x must be [T, H] and weights [T, k]");
    moe::CombineSpec s;
    s.T = d.inputs[0].shape[0];
    s.H = d.inputs[0].shape[1];
    s.K = d.inputs[2].shape[1];
    s.E = d.intAttr("num_experts", 0);
    s.x = d.inputs[0].dtype;
    s.sorted = d.hasInput(3);
    s.hasShared = d.hasInput(4);
    s.hasSharedGate = d.hasInput(5);
    variant = "combine";
    return moe::emitCombine(s, d.name, source, launch, why) || fail(why);
  }
  return fail("not an MoE stage");
}

} // namespace

bool chooseMoE(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (!d.is(EffOp::MoEOp)) {
    std::string source;
    if (!emitStage(d, source, c.launch, c.variant, c.tensorMaps, error))
      return false;
    c.needsMoEPrelude = true;
    // device/moe_wgmma*.cuh come with the Hopper files (CudaTranslationUnit).
    c.needsHopperPrelude = c.variant == "grouped-wgmma" || c.variant == "grouped-wgmma-tma";
    return true;
  }
  MoEGeometry g;
  if (!describeMoE(d, g, error))
    return false;
  c.variant = "per_token";
  c.launch.block[0] = kThreads;
  c.launch.grid[0] = uint32_t(std::max<int64_t>(1, g.T));
  c.needsMoEPrelude = true;
  return true;
}

bool instantiateMoE(const KernelDesc &d, const KernelChoice &, std::string &out,
                    std::string &error) {
  if (!d.is(EffOp::MoEOp)) {
    LaunchDims launch;
    std::string variant;
    std::vector<TensorMapDesc> tensorMaps;
    return emitStage(d, out, launch, variant, tensorMaps, error);
  }
  MoEGeometry g;
  if (!describeMoE(d, g, error))
    return false;
  const std::string cfg = "effc_moe_cfg_" + d.name, loader = "effc_moe_io_" + d.name;
  auto flag = [](bool b) { return b ? "true" : "false"; };
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", g.T, ", H = ", g.H, ", E = ", g.E, ", I = ", g.I,
         ", IS = ", g.Is, ", K = ", g.k, ", ROUTING = ", g.routing, ";");
  w.line("static constexpr bool GELU = ", flag(g.gelu), ", NORM_TOPK = ", flag(g.normTopk),
         ", HAS_ROUTE_WEIGHTS = ", flag(d.hasInput(RouteWeights)),
         ", HAS_SHARED = ", flag(d.hasInput(SharedGateUp)),
         ", HAS_SHARED_GATE = ", flag(d.hasInput(SharedGate)), ";");
  w.line("static constexpr float ROUTED_SCALE = ", floatLit(float(g.routedScale)), ";");
  w.close("};");
  // The loads of every operand as float (absent ones read as 0, never called).
  static const char *names[] = {"x",           "router",        "gate_up",
                                "down",        "route_weights", "shared_gate_up",
                                "shared_down", "shared_gate"};
  w.open("struct ", loader, " {");
  for (size_t i = 0; i < 8; ++i)
    w.line("const ", storageType(d.inputs[i].dtype), " *p", i, ";");
  w.line(storageType(d.outputs[0].dtype), " *q;");
  for (size_t i = 0; i < 8; ++i) {
    std::string p = "p" + std::to_string(i);
    w.line("__device__ float ", names[i], "(long long i) const { return ",
           d.hasInput(i) ? loadAs(d.inputs[i].dtype, p, "i", Compute::F32) : "0.0f", "; }");
  }
  w.line("__device__ void store(long long i, float v) const { q[i] = ",
         storeValue(d.outputs[0].dtype, "v", Compute::F32), "; }");
  w.close("};");
  openKernel(w, d, kThreads);
  w.line("// y[", g.T, "][", g.H, "]: ", g.E, " experts, top-", g.k, ", I ", g.I,
         g.Is ? ", shared expert" : "", " (one block per token)");
  w.line(loader, " l{x0, x1, x2, x3, x4, x5, x6, x7, y0};");
  w.line("moe_token<", cfg, ", ", kThreads, ">(l);");
  w.close();
  out = w.str();
  return true;
}

} // namespace effc::codegen
