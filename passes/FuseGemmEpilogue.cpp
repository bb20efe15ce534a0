//===- FuseGemmEpilogue.cpp - GEMM + elementwise consumer -> one kernel ---===//
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_FUSEGEMMEPILOGUE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// The shapes of a function's dynamic values at each probe of its bounded
/// dims (probeBoundedShapes), computed when first asked for.
class Probes {
public:
  explicit Probes(func::FuncOp func) : func(func) {}

  /// Whether `a` and `b` have one shape at every run: equal static shapes,
  /// or equal static dims with the dynamic ones equal at every probe.
  bool sameShape(Value a, Value b) {
    auto x = cast<RankedTensorType>(a.getType()), y = cast<RankedTensorType>(b.getType());
    if (x.getShape() != y.getShape())
      return false;
    if (x.hasStaticShape())
      return true;
    if (!probes) {
      auto probed = probeBoundedShapes(func);
      if (succeeded(probed))
        probes = std::move(*probed);
      else
        probes.emplace();
    }
    if (probes->empty())
      return false;
    return llvm::all_of(*probes, [&](const llvm::DenseMap<Value, SmallVector<int64_t>> &probe) {
      auto ia = probe.find(a), ib = probe.find(b);
      return ia != probe.end() && ib != probe.end() && ia->second == ib->second;
    });
  }

private:
  func::FuncOp func;
  std::optional<SmallVector<llvm::DenseMap<Value, SmallVector<int64_t>>>> probes;
};

/// `value`'s sole user when it is an elementwise op or elementwise fusion
/// producing value's shape in a float type: it can run per output element
/// on the accumulator. Otherwise null, and `whyNot` says why.
Operation *elementwiseConsumerOf(Value value, Probes &probes, std::string &whyNot) {
  if (value.use_empty()) {
    whyNot = "its result is unused";
    return nullptr;
  }
  if (!value.hasOneUse()) {
    whyNot = "its result has " + std::to_string(std::distance(value.use_begin(), value.use_end())) +
             " uses (a value read by several kernels is stored)";
    return nullptr;
  }
  Operation *user = *value.getUsers().begin();
  std::string userName = "'" + user->getName().getStringRef().str() + "'";
  if (isa<func::ReturnOp>(user)) {
    whyNot = "its result is returned";
    return nullptr;
  }
  auto fusion = dyn_cast<FusionOp>(user);
  if (fusion ? fusion.getKind() != FusionKind::Elementwise || fusion->getNumResults() != 1
             : !isFusibleElementwise(user)) {
    whyNot = "its only user " + userName +
             (fusion ? " (" + stringifyFusionKind(fusion.getKind()).str() + ")" : "") +
             " is not elementwise";
    return nullptr;
  }
  if (fusion &&
      llvm::any_of(fusion.getBody().front(), [](Operation &op) { return isIndexMapping(&op); })) {
    whyNot = "its consumer " + userName + " reads its inputs through index maps (transpose, " +
             "slice, concat), which a GEMM epilogue does not";
    return nullptr;
  }
  auto type = cast<RankedTensorType>(value.getType());
  auto out = dyn_cast<RankedTensorType>(user->getResult(0).getType());
  if (!out || out.getShape() != type.getShape()) {
    whyNot = "its consumer " + userName + " has another result shape (broadcast)";
    return nullptr;
  }
  if (!probes.sameShape(value, user->getResult(0))) {
    whyNot = "its consumer " + userName +
             " has a result shape that no probe of the bounded dims (eff.dims) shows equal";
    return nullptr;
  }
  if (!isa<FloatType>(out.getElementType())) {
    whyNot = "its consumer " + userName + " has a non-float result";
    return nullptr;
  }
  return user;
}

/// An eff.lora_expand adding the LoRA branch to `value` (its sole use, as
/// acc) whose other operands have static shapes, else null.
Operation *loraExpandOf(Value value) {
  if (!value.hasOneUse())
    return nullptr;
  auto expand = dyn_cast<LoRAExpandOp>(*value.getUsers().begin());
  if (!expand || expand.getAcc() != value)
    return nullptr;
  for (Value operand : expand->getOperands().drop_front())
    if (auto t = dyn_cast<RankedTensorType>(operand.getType()); !t || !t.hasStaticShape())
      return nullptr;
  return expand;
}

/// The ops that become the GEMM's epilogue, in order: an eff.lora_expand on
/// the GEMM result (LoRA), then the sole elementwise consumer of what
/// precedes it unless `taken` already holds it. Empty when nothing fuses,
/// and then `whyNot` says why.
SmallVector<Operation *> epilogueOf(Operation *gemm,
                                    const llvm::SmallPtrSetImpl<Operation *> &taken, Probes &probes,
                                    std::string &whyNot) {
  auto type = dyn_cast<RankedTensorType>(gemm->getResult(0).getType());
  if (!type) {
    whyNot = "its result is not a ranked tensor";
    return {};
  }
  // 1-D matmul operands drop a dim from the result: the epilogue indexes
  // (batch, m, n) of the full [batch..., M, N] shape.
  for (Value operand : gemm->getOperands().take_front(2))
    if (auto t = dyn_cast<RankedTensorType>(operand.getType()); !t || t.getRank() < 2) {
      whyNot = "an operand is 1-D";
      return {};
    }
  SmallVector<Operation *> chain;
  Value last = gemm->getResult(0);
  // LoRA terms are indexed by static rows (a symbolic result keeps its
  // eff.lora_expand a kernel of its own).
  if (Operation *expand = type.hasStaticShape() ? loraExpandOf(last) : nullptr) {
    chain.push_back(expand);
    last = expand->getResult(0);
  }
  if (Operation *user = elementwiseConsumerOf(last, probes, whyNot)) {
    if (!taken.contains(user))
      chain.push_back(user);
    else if (chain.empty())
      whyNot = "its consumer is already the epilogue of another GEMM (one GEMM per kernel)";
  }
  return chain;
}

struct FuseGemmEpiloguePass : public mlir::eff::impl::FuseGemmEpilogueBase<FuseGemmEpiloguePass> {
  using FuseGemmEpilogueBase::FuseGemmEpilogueBase;

  void runOnOperation() override {
    // A consumer of two GEMMs (SwiGLU's silu(gate) * up) becomes the
    // epilogue of the first only: one GEMM per kernel.
    SmallVector<std::pair<Operation *, SmallVector<Operation *>>> chains;
    llvm::SmallPtrSet<Operation *, 16> taken;
    Probes probes(getOperation());
    getOperation().walk([&](Operation *op) {
      if (!op->hasTrait<OpTrait::eff::GemmLike>() || op->getParentOfType<FusionOp>())
        return;
      std::string whyNot;
      SmallVector<Operation *> chain = epilogueOf(op, taken, probes, whyNot);
      if (chain.empty()) {
        if (remarks)
          op->emitRemark("no epilogue fused: ") << whyNot;
        return;
      }
      taken.insert(chain.begin(), chain.end());
      chains.push_back({op, std::move(chain)});
    });
    for (auto &[gemm, chain] : chains)
      fuse(gemm, chain);
  }

  /// Replaces gemm + chain by one eff.fusion gemm_epilogue at the chain's
  /// last op.
  void fuse(Operation *gemm, ArrayRef<Operation *> chain) {
    // Inputs: the GEMM's operands first (A, B, [C]), then what each chain
    // op reads besides its predecessor's result (lora_expand: t, b,
    // [lora_index]; the elementwise consumer: bias, residual, ...).
    llvm::SetVector<Value> inputs;
    for (Value v : gemm->getOperands())
      inputs.insert(v);
    Value previous = gemm->getResult(0);
    for (Operation *op : chain) {
      auto consumer = dyn_cast<FusionOp>(op);
      for (Value v : consumer ? consumer.getInputs() : op->getOperands())
        if (v != previous)
          inputs.insert(v);
      previous = op->getResult(0);
    }
    Operation *user = chain.back();
    OpBuilder builder(user);
    SmallVector<Location> locs{gemm->getLoc()};
    for (Operation *op : chain)
      locs.push_back(op->getLoc());
    Location loc = FusedLoc::get(&getContext(), locs);
    IRMapping mapping;
    FusionOp fusion = createFusionShell(builder, loc, user->getResultTypes(), inputs.getArrayRef(),
                                        FusionKind::GemmEpilogue, mapping);
    Operation *clone = builder.clone(*gemm, mapping);
    mapping.map(gemm->getResult(0), clone->getResult(0));
    Value result;
    for (Operation *op : chain) {
      if (auto consumer = dyn_cast<FusionOp>(op)) {
        Block &inner = consumer.getBody().front();
        for (auto [arg, input] : llvm::zip(inner.getArguments(), consumer.getInputs()))
          mapping.map(arg, mapping.lookup(input));
        for (Operation &innerOp : inner.without_terminator())
          builder.clone(innerOp, mapping);
        result = mapping.lookup(inner.getTerminator()->getOperand(0));
      } else {
        result = builder.clone(*op, mapping)->getResult(0);
      }
      mapping.map(op->getResult(0), result);
    }
    builder.create<YieldOp>(user->getLoc(), result);
    user->getResult(0).replaceAllUsesWith(fusion.getResult(0));
    for (Operation *op : llvm::reverse(chain))
      op->erase();
    gemm->erase();
  }
};

} // namespace
