//===- FusionShell.cpp - an empty eff.fusion for the fusion passes --------===//
#include "passes/Passes.h"

namespace mlir::eff {

FusionOp createFusionShell(OpBuilder &builder, Location loc, TypeRange results,
                           ArrayRef<Value> inputs, FusionKind kind, IRMapping &mapping) {
  auto fusion = builder.create<FusionOp>(loc, results, inputs, kind);
  Block *body = new Block();
  fusion.getBody().push_back(body);
  for (Value input : inputs)
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  builder.setInsertionPointToStart(body);
  return fusion;
}

} // namespace mlir::eff
