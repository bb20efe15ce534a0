//===- EffOps.h - ops of the eff dialect -------------------------*- C++ -*-===//
#ifndef EFFC_DIALECTS_EFF_EFFOPS_H
#define EFFC_DIALECTS_EFF_EFFOPS_H

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/ShapeInference.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/eff/EffEnums.h.inc"

namespace mlir::OpTrait::eff {
/// The op never reaches a kernel (EffOps.td, Eff_CompileTimeOnly).
template <typename ConcreteType>
class CompileTimeOnly : public TraitBase<ConcreteType, CompileTimeOnly> {};
/// One CUDA kernel; the host backend runs the body's ops (Eff_KernelRegion).
template <typename ConcreteType>
class KernelRegion : public TraitBase<ConcreteType, KernelRegion> {};
/// Joins several devices' work; runs through the runtime's Collectives,
/// never as a generated CUDA kernel (Eff_Collective).
template <typename ConcreteType> class Collective : public TraitBase<ConcreteType, Collective> {};
/// Computed per output element after broadcasting (Eff_Elementwise).
template <typename ConcreteType> class Elementwise : public TraitBase<ConcreteType, Elementwise> {};
/// A matrix product: matmul, gemm (Eff_GemmLike).
template <typename ConcreteType> class GemmLike : public TraitBase<ConcreteType, GemmLike> {};
/// Same elements in the same order, new shape (Eff_View).
template <typename ConcreteType> class View : public TraitBase<ConcreteType, View> {};
} // namespace mlir::OpTrait::eff

#define GET_OP_CLASSES
#include "dialects/eff/EffOps.h.inc"

namespace mlir::eff {
/// Bits per weight code of an eff.quant_linear scheme (4 or 8).
int64_t quantSchemeBits(QuantScheme scheme);
} // namespace mlir::eff

#endif
