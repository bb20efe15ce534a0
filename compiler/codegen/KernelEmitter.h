//===- KernelEmitter.h - CUDA C++ for eff kernel ops -------------*- C++ -*-===//
//
// The code generator's entry points:
//   chooseCudaKernel(desc)   plan: the family's KernelChoice (variant,
//                            tiles, launch geometry), no text
//   instantiateCudaKernel    emit: one `EFFC_KERNEL` function for a choice
//   emitCudaKernel(desc)     both
//   CudaTranslationUnit      prelude (once) + every kernel: the artifact's
//                            CUDA source
//   describeKernelOp(op)     an MLIR eff op -> KernelDesc (OpDescription.cpp)
// Dispatch is by op name ("eff.add") through one table of family emitters
// (Families.h; the families come from ODS `cudaFamily`); hasCudaEmitter/
// cudaEmitterOps expose the table so tests can check it covers every op the
// host backend runs.
//
#ifndef EFFC_COMPILER_CODEGEN_KERNELEMITTER_H
#define EFFC_COMPILER_CODEGEN_KERNELEMITTER_H

#include "compiler/codegen/core/KernelDesc.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mlir {
class Operation;
class Value;
} // namespace mlir

namespace effc::codegen {

bool hasCudaEmitter(std::string_view op);
/// Every op name with an emitter, sorted.
std::vector<std::string> cudaEmitterOps();

/// Planning: the kernel chosen for `desc` (family, variant, tiles, launch),
/// or nullopt with `error` saying why (unsupported op or dtype, a
/// shape-like operand that is not a compile-time constant, ...).
std::optional<KernelChoice> chooseCudaKernel(const KernelDesc &desc, std::string &error);
/// Emission: the text of `choice` for `desc`, launched as the choice says.
std::optional<CudaKernel> instantiateCudaKernel(const KernelDesc &desc, const KernelChoice &choice,
                                                std::string &error);
/// Both steps at once (unit tests, benchmarks).
std::optional<CudaKernel> emitCudaKernel(const KernelDesc &desc, std::string &error);

/// Builds the one CUDA translation unit of an artifact.
class CudaTranslationUnit {
public:
  /// Adds `kernel` and returns the function name launches must use: the name
  /// of an identical kernel added before (the same source up to its name;
  /// every layer of a model repeats its kernels), else kernel.name. NVRTC
  /// time grows with the source, so repeated layers must not repeat it.
  std::string add(const CudaKernel &kernel);
  bool empty() const { return kernels.empty(); }
  /// Prelude (+ the GEMM and attention device code when a kernel needs
  /// them, each once) + kernels in the order added.
  std::string source() const;

private:
  std::string kernels;
  bool attention = false;
  bool gemm = false;
  bool quant = false;
  bool hopper = false;
  bool moe = false;
  /// Source with the kernel's own name blanked -> the name it was added as.
  std::unordered_map<std::string, std::string> byBody;
};

/// The extents of a value with a dynamic shape under bounded dims: fills
/// TensorDesc::shape (the largest extents) and symShape; false when unknown.
using SymbolicShapeFn = std::function<bool(mlir::Value, TensorDesc &)>;

/// The description of a kernel op (static shapes, or symbolic ones that
/// `symbolic` knows; constants of integer operands; attributes with UnitAttr
/// as 1). nullopt + error when a shape is dynamic or a dtype unsupported.
std::optional<KernelDesc> describeKernelOp(mlir::Operation *op, const std::string &name,
                                           std::string &error,
                                           const SymbolicShapeFn &symbolic = nullptr);

/// "k12_layer_norm": unique (index) and readable (op name).
std::string kernelName(size_t index, std::string_view op);

} // namespace effc::codegen

#endif
