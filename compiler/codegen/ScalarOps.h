//===- ScalarOps.h - one elementwise op on one element -----------*- C++ -*-===//
//
// The per-element expressions of the elementwise eff ops (math, comparisons,
// logic, where, cast, clip, identity): each op's ODS def names its recipe
// (`cudaScalar`), generated into the table ScalarOps.cpp builds. Both the
// per-op kernels and fused eff.fusion bodies (ElementwiseEmitter.cpp) build
// their code from it, so an op's CUDA semantics live in one place. The expressions
// mirror the host kernels: operands are widened to the op's compute kind, the
// result is in `kind` and the caller stores (or rounds) it to the result
// dtype with storeValue/roundTo (DTypeInfo.h).
//
#ifndef EFFC_COMPILER_CODEGEN_SCALAROPS_H
#define EFFC_COMPILER_CODEGEN_SCALAROPS_H

#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace effc::codegen {

struct ScalarExpr {
  std::string expr;
  Compute kind; // of expr's value
};

/// True when op `op` (an EffOp name) has a per-element expression.
bool hasScalarOp(std::string_view op);

/// The result of elementwise op `d` on one element. `operands[i]` is a
/// (cheap, side-effect free: it may be repeated) expression holding operand
/// i in computeOf(d.inputs[i].dtype), or "" for an absent optional operand.
/// nullopt + `error` for an unknown op or an unsupported dtype/attribute.
std::optional<ScalarExpr> scalarExpr(const KernelDesc &d, const std::vector<std::string> &operands,
                                     std::string &error);

} // namespace effc::codegen

#endif
