//===- MoEPartitionEmitter.cpp - eff.moe_route, eff.moe_experts -----------===//
//
// The kernels of a partitioned eff.moe (--moe-partitions): a config struct
// with every size baked in, the dtype glue as a loader struct, and a call of
// moe_route_token<C> or moe_experts_token<C> (device/moe_partition.cuh, which
// builds on moe.cuh). One block per token, as eff.moe's per-token kernel.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {
namespace {

constexpr int kThreads = 256;
// The blocks' float arrays (x, accumulator, one h chunk, scores) stay in the
// 48 KiB of static shared memory.
constexpr int64_t kStaticSharedBytes = 48 * 1024;

enum RouteInput : size_t { RX, RRouter, RRouteWeights };
enum ExpertsInput : size_t {
  EX,
  EExperts,
  EWeights,
  EGateUp,
  EDown,
  ESharedGateUp,
  ESharedDown,
  ESharedGate
};

const char *flag(bool b) { return b ? "true" : "false"; }

bool fitsShared(const KernelDesc &d, int64_t floats, std::string &error) {
  if (4 * floats <= kStaticSharedBytes)
    return true;
  error = d.op + ": hidden size " + std::to_string(d.inputs[0].shape.back()) +
          " needs more static shared memory than the per-token MoE kernels have";
  return false;
}

bool checkRoute(const KernelDesc &d, std::string &error) {
  if (d.inputs.size() < 2 || d.inputs.size() > 3 || d.outputs.size() != 2 ||
      d.inputs[RX].shape.size() != 2) {
    error = d.op + ": expected x [T, H], router, [route_weights] and two results";
    return false;
  }
  int64_t E = d.intAttr("num_experts", 0), k = d.intAttr("top_k", 0);
  return fitsShared(d, d.inputs[RX].shape[1] + E + 2 * k + 32, error);
}

bool checkExperts(const KernelDesc &d, std::string &error) {
  if (d.inputs.size() != 8 || d.outputs.size() != 1 || d.inputs[EX].shape.size() != 2 ||
      d.inputs[EExperts].shape.size() != 2 || d.inputs[EGateUp].shape.size() != 3) {
    error = d.op + ": expected x [T, H], experts [T, k], weights, gate_up [G, 2I, H], down and "
                   "the shared expert's operands (absent included)";
    return false;
  }
  return fitsShared(d, 2 * d.inputs[EX].shape[1] + kThreads + 32, error);
}

void loadMember(CudaWriter &w, const KernelDesc &d, size_t i, const char *name) {
  w.line("__device__ float ", name, "(long long i) const { return ",
         d.hasInput(i) ? loadAs(d.inputs[i].dtype, "p" + std::to_string(i), "i", Compute::F32)
                       : "0.0f",
         "; }");
}

void pointers(CudaWriter &w, const KernelDesc &d) {
  for (size_t i = 0; i < d.inputs.size(); ++i)
    w.line("const ", storageType(d.inputs[i].dtype), " *p", i, ";");
  for (size_t i = 0; i < d.outputs.size(); ++i)
    w.line(storageType(d.outputs[i].dtype), " *q", i, ";");
}

std::string loaderInit(const KernelDesc &d) {
  std::string args;
  for (size_t i = 0; i < d.inputs.size(); ++i)
    args += "x" + std::to_string(i) + ", ";
  for (size_t i = 0; i < d.outputs.size(); ++i)
    args += (i ? ", y" : "y") + std::to_string(i);
  return "{" + args + "}";
}

bool emitRoute(const KernelDesc &d, std::string &out, std::string &error) {
  if (!checkRoute(d, error))
    return false;
  int64_t T = d.inputs[RX].shape[0], H = d.inputs[RX].shape[1];
  int64_t E = d.intAttr("num_experts", 0), k = d.intAttr("top_k", 0);
  std::string routing = d.stringAttr("routing", "softmax_topk");
  const std::string cfg = "effc_moe_route_cfg_" + d.name, loader = "effc_moe_route_io_" + d.name;
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", T, ", H = ", H, ", E = ", E, ", K = ", k, ", ROUTING = ",
         routing == "softmax_topk"   ? "MOE_SOFTMAX_TOPK"
         : routing == "topk_softmax" ? "MOE_TOPK_SOFTMAX"
                                     : "MOE_SCORES",
         ";");
  w.line("static constexpr bool NORM_TOPK = ", flag(d.intAttr("norm_topk", 0) != 0),
         ", HAS_ROUTE_WEIGHTS = ", flag(d.hasInput(RRouteWeights)), ";");
  w.line("static constexpr float ROUTED_SCALE = ",
         floatLit(float(d.floatAttr("routed_scale", 1.0))), ";");
  w.close("};");
  w.open("struct ", loader, " {");
  pointers(w, d);
  loadMember(w, d, RX, "x");
  loadMember(w, d, RRouter, "router");
  loadMember(w, d, RRouteWeights, "route_weights"); // 0 when absent (never read then)
  w.line("__device__ void store_route(long long i, int e, float v) const { q0[i] = (i64)e; q1[i] "
         "= v; }");
  w.close("};");
  openKernel(w, d, kThreads);
  w.line("// routing of ", T, " tokens over ", E, " experts, top-", k, " (one block per token)");
  w.line(loader, " l", loaderInit(d), ";");
  w.line("moe_route_token<", cfg, ">(l);");
  w.close();
  out = w.str();
  return true;
}

bool emitExperts(const KernelDesc &d, std::string &out, std::string &error) {
  if (!checkExperts(d, error))
    return false;
  const auto &gu = d.inputs[EGateUp].shape;
  int64_t T = d.inputs[EX].shape[0], H = d.inputs[EX].shape[1], k = d.inputs[EExperts].shape[1];
  int64_t G = gu[0], I = gu[1] / 2;
  int64_t Is = d.hasInput(ESharedGateUp) ? d.inputs[ESharedGateUp].shape[0] / 2 : 0;
  const std::string cfg = "effc_moe_experts_cfg_" + d.name,
                    loader = "effc_moe_experts_io_" + d.name;
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int T = ", T, ", H = ", H, ", K = ", k, ", G = ", G,
         ", FIRST = ", d.intAttr("first_expert", 0), ", I = ", I, ", IS = ", Is, ";");
  w.line("static constexpr bool GELU = ", flag(d.stringAttr("activation", "silu") == "gelu"),
         ", HAS_SHARED = ", flag(d.hasInput(ESharedGateUp)),
         ", HAS_SHARED_GATE = ", flag(d.hasInput(ESharedGate)), ";");
  w.close("};");
  w.open("struct ", loader, " {");
  pointers(w, d);
  loadMember(w, d, EX, "x");
  w.line("__device__ long long expert(long long i) const { return (long long)p", size_t(EExperts),
         "[i]; }");
  loadMember(w, d, EWeights, "weight");
  loadMember(w, d, EGateUp, "gate_up");
  loadMember(w, d, EDown, "down");
  loadMember(w, d, ESharedGateUp, "shared_gate_up");
  loadMember(w, d, ESharedDown, "shared_down");
  loadMember(w, d, ESharedGate, "shared_gate");
  w.line("__device__ void store(long long i, float v) const { q0[i] = ",
         storeValue(d.outputs[0].dtype, "v", Compute::F32), "; }");
  w.close("};");
  openKernel(w, d, kThreads);
  w.line("// experts ", d.intAttr("first_expert", 0), "..", d.intAttr("first_expert", 0) + G - 1,
         " of ", T, " tokens, top-", k, ", I ", I, Is ? ", shared expert" : "",
         " (one block per token)");
  w.line(loader, " l", loaderInit(d), ";");
  w.line("moe_experts_token<", cfg, ", ", kThreads, ">(l);");
  w.close();
  out = w.str();
  return true;
}

} // namespace

bool chooseMoEPartition(const KernelDesc &d, KernelChoice &c, std::string &error) {
  bool route = d.is(EffOp::MoERouteOp);
  if (route ? !checkRoute(d, error) : !checkExperts(d, error))
    return false;
  c.variant = route ? "route" : "experts";
  c.launch.block[0] = kThreads;
  c.launch.grid[0] = uint32_t(std::max<int64_t>(1, d.inputs[0].shape[0]));
  c.needsMoEPrelude = true;
  return true;
}

bool instantiateMoEPartition(const KernelDesc &d, const KernelChoice &, std::string &out,
                             std::string &error) {
  if (d.is(EffOp::MoERouteOp))
    return emitRoute(d, out, error);
  if (d.is(EffOp::MoEExpertsOp))
    return emitExperts(d, out, error);
  error = d.op + ": not eff.moe_route or eff.moe_experts";
  return false;
}

} // namespace effc::codegen
