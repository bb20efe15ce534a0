//===- EffDialect.cpp - the eff dialect -----------------------------------===//
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"

using namespace mlir;
using namespace mlir::eff;

#include "dialects/eff/EffDialect.cpp.inc"

void EffDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/eff/EffOps.cpp.inc"
      >();
}

Operation *EffDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                           Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}
