//===- KernelPlan.h - each kernel described once: plan, then emit -*- C++ -*-===//
//
// The planner (ExecutionPlan.cpp) describes every kernel of an artifact once,
// as a KernelPlan: the op's KernelDesc (op, attributes, operand and result
// types, fused body), where it came from, the buffers it binds, and the CUDA
// kernel chosen for it (KernelChoice: the family emitter's variant, tiles and
// launch geometry; no text). Everything after planning is a function of this
// list and never reads the IR again:
//   emitCudaTranslationUnit   instantiates each choice: the artifact's CUDA
//                             source (each identical kernel once) and the
//                             function each kernel launches;
//   toManifestKernel          the artifact's manifest entry of a kernel, its
//                             launch the choice's.
// effc-translate prints them for a .mlir module (--eff-to-plan,
// --eff-to-cuda, --eff-to-manifest), so planning and emission are lit-tested
// without ONNX. KernelPlan is MLIR-free: the planner reports errors at the op.
//
#ifndef EFFC_COMPILER_PLAN_KERNELPLAN_H
#define EFFC_COMPILER_PLAN_KERNELPLAN_H

#include "compiler/codegen/core/KernelDesc.h"
#include "runtime/src/Artifact.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace effc {

struct KernelPlan {
  /// The one description of the kernel; desc.name is its CUDA function name.
  codegen::KernelDesc desc;
  /// The op's location as the manifest records it; for eff.fusion, also
  /// each body op's (parallel to desc.body).
  std::string location;
  std::vector<std::string> bodyLocations;
  /// Buffer ids of desc.inputs (-1: an absent optional input) and desc.outputs.
  std::vector<int32_t> inputs, outputs;
  /// CUDA stream (manifest Kernel.stream): 0 the session's; s > 0 a side
  /// stream, from the op's `eff.stream` (independent kernels).
  uint32_t stream = 0;
  /// effc --devices (manifest Kernel.device), from the op's `eff.device`
  /// (-1: replicated; collective ops run on every device).
  int64_t device = -1;
  /// The CUDA kernel chosen for it; nullopt only in a host-only artifact
  /// and for collective ops (the runtime runs those through Collectives.h).
  std::optional<codegen::KernelChoice> cuda;
};

/// The CUDA translation unit of a planned artifact.
struct CudaEmission {
  /// Empty when no kernel has CUDA code.
  std::string source;
  /// Per kernel, the function its launches use: the name of an identical
  /// kernel emitted before it, else its own; "" without CUDA code.
  std::vector<std::string> functions;
  /// Set when a choice could not be instantiated: why, and which kernel.
  std::string error;
  size_t failedKernel = 0;
};
CudaEmission emitCudaTranslationUnit(const std::vector<KernelPlan> &kernels);

/// "k3_layer_norm Norm warp-per-row ... grid=(..) block=(..) smem=0", or
/// "k3_foo host-only" without a CUDA kernel: one line of effc-translate
/// --eff-to-plan.
std::string describeKernelPlan(const KernelPlan &kernel);

/// The manifest entry of `kernel`, launching CUDA function `function` ("" =
/// none: the entry then has no source and no launch geometry).
void toManifestKernel(const KernelPlan &kernel, const std::string &function, artifact::Kernel &out);

} // namespace effc

#endif
