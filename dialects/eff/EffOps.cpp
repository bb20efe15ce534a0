//===- EffOps.cpp - generated op definitions of the eff dialect -----------===//
// Hand-written parts (verifiers, inference, folders) live in one file per op
// family: ElementwiseOps.cpp, ConstantOps.cpp, ...
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

#include "dialects/eff/EffEnums.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/eff/EffOps.cpp.inc"
