//===- MoEEmitter.cpp - eff.moe kernels -----------------------------------===//
//
// A config struct with every size baked in, the dtype glue as a loader
// struct and a call of moe_token<C> (device/moe.cuh): one block per token,
// routing in fp32. Correct for every eff.moe whose per-token shared arrays
// fit a block's static shared memory (H floats twice); the grouped-GEMM
// kernels are the next step (issue 18).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

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

} // namespace

bool chooseMoE(const KernelDesc &d, KernelChoice &c, std::string &error) {
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
