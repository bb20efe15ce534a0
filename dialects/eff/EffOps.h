//===- EffOps.h - ops of the eff dialect -------------------------*- C++ -*-===//
#ifndef EFFC_DIALECTS_EFF_EFFOPS_H
#define EFFC_DIALECTS_EFF_EFFOPS_H

#include "dialects/eff/EffDialect.h"
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/ShapeInference.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/eff/EffOps.h.inc"

#endif
