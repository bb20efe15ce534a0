//===- FuseGemmEpilogue.cpp - GEMM + elementwise consumer -> one kernel ---===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_FUSEGEMMEPILOGUE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// The GEMM's sole consumer when it can become the epilogue, else null.
Operation *epilogueOf(Operation *gemm) {
  auto type = dyn_cast<RankedTensorType>(gemm->getResult(0).getType());
  if (!type || !type.hasStaticShape() || !gemm->getResult(0).hasOneUse())
    return nullptr;
  // 1-D matmul operands drop a dim from the result: the epilogue indexes
  // (batch, m, n) of the full [batch..., M, N] shape.
  for (Value operand : gemm->getOperands().take_front(2))
    if (auto t = dyn_cast<RankedTensorType>(operand.getType()); !t || t.getRank() < 2)
      return nullptr;
  Operation *user = *gemm->getResult(0).getUsers().begin();
  auto fusion = dyn_cast<FusionOp>(user);
  if (fusion ? fusion.getKind() != "elementwise" || fusion->getNumResults() != 1
             : !isFusibleElementwise(user))
    return nullptr;
  auto out = dyn_cast<RankedTensorType>(user->getResult(0).getType());
  if (!out || out.getShape() != type.getShape() || !isa<FloatType>(out.getElementType()))
    return nullptr;
  return user;
}

struct FuseGemmEpiloguePass
    : public mlir::eff::impl::FuseGemmEpilogueBase<FuseGemmEpiloguePass> {
  void runOnOperation() override {
    // A consumer of two GEMMs (SwiGLU's silu(gate) * up) becomes the
    // epilogue of the first only: one GEMM per kernel.
    SmallVector<std::pair<Operation *, Operation *>> pairs;
    llvm::SmallPtrSet<Operation *, 16> taken;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp>(op) && !op->getParentOfType<FusionOp>())
        if (Operation *user = epilogueOf(op); user && taken.insert(user).second)
          pairs.push_back({op, user});
    });
    for (auto [gemm, user] : pairs)
      fuse(gemm, user);
  }

  /// Replaces gemm + user by one eff.fusion "gemm_epilogue" at the user.
  void fuse(Operation *gemm, Operation *user) {
    Value mm = gemm->getResult(0);
    // Inputs: the GEMM's operands first (A, B, [C]), then the consumer's.
    llvm::SetVector<Value> inputs;
    for (Value v : gemm->getOperands())
      inputs.insert(v);
    auto consumer = dyn_cast<FusionOp>(user);
    for (Value v : consumer ? consumer.getInputs() : user->getOperands())
      if (v != mm)
        inputs.insert(v);
    OpBuilder builder(user);
    Location loc = FusedLoc::get(&getContext(), {gemm->getLoc(), user->getLoc()});
    auto fusion = builder.create<FusionOp>(loc, user->getResultTypes(), inputs.getArrayRef(),
                                           builder.getStringAttr("gemm_epilogue"));
    Block *body = new Block();
    fusion.getBody().push_back(body);
    IRMapping mapping;
    for (Value input : inputs)
      mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
    builder.setInsertionPointToStart(body);
    Operation *clone = builder.clone(*gemm, mapping);
    mapping.map(mm, clone->getResult(0));
    Value result;
    if (consumer) {
      Block &inner = consumer.getBody().front();
      for (auto [arg, input] : llvm::zip(inner.getArguments(), consumer.getInputs()))
        mapping.map(arg, mapping.lookup(input));
      for (Operation &op : inner.without_terminator())
        builder.clone(op, mapping);
      result = mapping.lookup(inner.getTerminator()->getOperand(0));
    } else {
      result = builder.clone(*user, mapping)->getResult(0);
    }
    builder.create<YieldOp>(user->getLoc(), result);
    user->getResult(0).replaceAllUsesWith(fusion.getResult(0));
    user->erase();
    gemm->erase();
  }
};

} // namespace
