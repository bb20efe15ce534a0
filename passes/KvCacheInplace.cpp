//===- KvCacheInplace.cpp - concat(past, new) -> eff.kv_append -----------===//
//
// A decoder exported with past recomputes nothing, but its Concat copies the
// whole cache every step. This pass finds those concats (the function input
// past_key_values.{i}.* joined with the new rows and returned as the
// matching present.{i}.*) and states the cache they build: eff.kv_append,
// the same value, whose result lives in the session cache named after the
// present. The match is by the exporters' names (../shared/notes/formats.md,
// KV-cache conventions) because only they say which output feeds which
// input on the next step.
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/IoName.h"
#include "passes/DimBounds.h"
#include "passes/PagedKvMask.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_KVCACHEINPLACE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr StringLiteral kPastPrefix = "past_key_values.";
constexpr StringLiteral kPresentPrefix = "present.";

/// How `v` reaches an eff.attention key or value: "directly", "through N
/// copies (...)" over the reshape/expand/unsqueeze/transpose of repeat_kv and
/// the exporters' K^T round trip, or "" when it does not.
std::string attentionPath(Value v, int hops = 0) {
  if (hops > 8)
    return "";
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (isa<AttentionOp>(user)) {
      if (use.getOperandNumber() != 1 && use.getOperandNumber() != 2)
        continue;
      return hops == 0
                 ? "directly"
                 : "through " + std::to_string(hops) +
                       " reshape/expand/unsqueeze/transpose op(s) (repeat_kv, K^T round trip)";
    }
    if (isa<ReshapeOp, ExpandOp, UnsqueezeOp, TransposeOp>(user))
      if (std::string path = attentionPath(user->getResult(0), hops + 1); !path.empty())
        return path;
  }
  return "";
}

struct KvCacheInplacePass : public mlir::eff::impl::KvCacheInplaceBase<KvCacheInplacePass> {
  using KvCacheInplaceBase::KvCacheInplaceBase;

  /// The present output `concat` is returned as, or "" (`reason` says why).
  std::string presentOf(ConcatOp concat, func::FuncOp func, StringRef past, std::string &reason) {
    std::string expected = (kPresentPrefix + past.drop_front(kPastPrefix.size())).str();
    std::string returnedAs;
    for (OpOperand &use : concat.getResult().getUses())
      if (isa<func::ReturnOp>(use.getOwner())) {
        StringRef name = effc::ioName(func.getResultAttrDict(use.getOperandNumber()));
        if (name == expected)
          return expected;
        returnedAs = name.str();
      }
    reason = returnedAs.empty()
                 ? "the result is not returned (no present." + expected.substr(8) + " output)"
                 : "the result is returned as '" + returnedAs + "', not '" + expected +
                       "' (the present that feeds '" + past.str() + "' back)";
    return "";
  }

  /// The cache rows for `concat`, or 0 (`reason` says why).
  int64_t capacityOf(ConcatOp concat, func::FuncOp func, unsigned pastArg, std::string &reason) {
    if (maxLength > 0)
      return maxLength;
    std::optional<int64_t> past = argDimMax(func, pastArg, 2);
    auto rows = cast<RankedTensorType>(concat.getInputs()[1].getType());
    std::optional<int64_t> fresh;
    if (!rows.isDynamicDim(2))
      fresh = rows.getDimSize(2);
    for (unsigned a = 0; a < func.getNumArguments() && !fresh; ++a)
      if (effc::ioName(func.getArgAttrDict(a)) == "input_ids")
        fresh = argDimMax(func, a, 1);
    if (!past || !fresh) {
      reason = std::string("no upper bound for the ") +
               (past ? "new rows' length" : "past length") +
               " (compile with --dim past=0..N and a bounded seq, or give max-length)";
      return 0;
    }
    return *past + *fresh;
  }

  /// `state`: past_key_values.* read only through one float cast (and
  /// eff.shape) take the cast's type; present.* returned through a float
  /// cast are returned before it. The cache then lives in the compute dtype.
  void retypeCacheInterface(func::FuncOp func) {
    SmallVector<Type> argTypes(func.getArgumentTypes()), resultTypes(func.getResultTypes());
    llvm::StringMap<Type> retyped; // "0.key" -> the type that past took
    for (BlockArgument arg : func.getArguments()) {
      StringRef name = effc::ioName(func.getArgAttrDict(arg.getArgNumber()));
      if (!name.starts_with(kPastPrefix))
        continue;
      SmallVector<CastOp> casts;
      bool other = false;
      for (Operation *user : arg.getUsers()) {
        if (auto cast = dyn_cast<CastOp>(user))
          casts.push_back(cast);
        else if (!isa<ShapeOp>(user))
          other = true;
      }
      if (other || casts.size() != 1 || !isa<FloatType>(getElementTypeOrSelf(casts[0].getType())))
        continue;
      arg.setType(casts[0].getType());
      argTypes[arg.getArgNumber()] = arg.getType();
      casts[0].getResult().replaceAllUsesWith(arg);
      casts[0].erase();
      retyped[name.drop_front(kPastPrefix.size())] = arg.getType();
    }
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    for (OpOperand &operand : ret->getOpOperands()) {
      unsigned i = operand.getOperandNumber();
      auto cast = operand.get().getDefiningOp<CastOp>();
      StringRef name = effc::ioName(func.getResultAttrDict(i));
      // Only the present of a retyped past, in that past's type.
      auto past = name.starts_with(kPresentPrefix)
                      ? retyped.find(name.drop_front(kPresentPrefix.size()))
                      : retyped.end();
      if (!cast || past == retyped.end() ||
          getElementTypeOrSelf(cast.getInput().getType()) != getElementTypeOrSelf(past->second))
        continue;
      operand.set(cast.getInput());
      resultTypes[i] = cast.getInput().getType();
      if (cast->use_empty())
        cast.erase();
    }
    func.setFunctionType(FunctionType::get(func.getContext(), argTypes, resultTypes));
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    warnSlotCountedWindows(func); // its own masks: a window over slots breaks ragged rows
    if (state)
      retypeCacheInterface(func);
    func.walk([&](ConcatOp concat) {
      auto type = dyn_cast<RankedTensorType>(concat.getType());
      int64_t axis = concat.getAxis();
      if (!type || type.getRank() != 4 || (axis != 2 && axis != -2))
        return; // not a sequence-axis join of [B, H, seq, D]
      auto notConverted = [&](const std::string &why) {
        if (remarks)
          concat->emitRemark("KV concat not converted: ") << why;
      };
      if (concat.getInputs().size() != 2)
        return notConverted("it joins " + std::to_string(concat.getInputs().size()) +
                            " tensors, not past and new rows");
      auto arg = dyn_cast<BlockArgument>(concat.getInputs()[0]);
      StringRef past = arg && arg.getOwner()->isEntryBlock()
                           ? effc::ioName(func.getArgAttrDict(arg.getArgNumber()))
                           : StringRef();
      if (!past.starts_with(kPastPrefix))
        return notConverted("its first operand is not a function input named "
                            "past_key_values.{i}.key/value");
      std::string reason;
      std::string present = presentOf(concat, func, past, reason);
      if (present.empty())
        return notConverted(reason);
      std::string path = attentionPath(concat.getResult());
      if (path.empty())
        return notConverted("the result reaches no eff.attention key or value (was attention "
                            "raised? eff-raise-attention --remarks tells)");
      auto pastType = cast<RankedTensorType>(arg.getType());
      if (!pastType.isDynamicDim(2))
        return notConverted("past has the fixed length " + std::to_string(pastType.getDimSize(2)) +
                            ": an artifact for one past length keeps no cache between steps");
      int64_t capacity = capacityOf(concat, func, arg.getArgNumber(), reason);
      if (capacity == 0)
        return notConverted(reason);
      OpBuilder b(concat);
      auto append =
          b.create<KvAppendOp>(concat.getLoc(), concat.getInputs()[0], concat.getInputs()[1],
                               b.getI64IntegerAttr(capacity), b.getStringAttr(present),
                               /*rows_perm=*/DenseI64ArrayAttr(),
                               /*rows_offset=*/DenseI64ArrayAttr());
      if (append.getType() != concat.getType()) {
        append.erase();
        return notConverted("eff.kv_append infers another type than the concat's");
      }
      if (remarks)
        concat->emitRemark(
            llvm::formatv("KV concat -> eff.kv_append into '{0}', capacity {1} rows, "
                          "attention reads it {2}",
                          present, capacity, path));
      concat.replaceAllUsesWith(append.getPresent());
      concat.erase();
    });
  }
};

} // namespace
