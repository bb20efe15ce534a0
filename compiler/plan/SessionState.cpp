//===- SessionState.cpp - KV caches the plan keeps in session state -------===//
#include "compiler/plan/SessionState.h"

#include "dialects/eff/IoName.h"

#include "llvm/Support/FormatVariadic.h"

#include <optional>
#include <string>

using namespace mlir;

namespace effc {
namespace {

std::string useText(OpOperand &use) {
  return "'" + use.getOwner()->getName().getStringRef().str() + "' (operand " +
         std::to_string(use.getOperandNumber()) + ")";
}

/// Why the cache `v` that `writer` writes cannot be session state as an
/// input ("" when it can: an argument of `func` that only `writer` and
/// eff.shape read); `noun` names it in the reason. Sets `argNumber`.
std::string onlyReadBy(Value v, Operation *writer, func::FuncOp func, StringRef noun,
                       unsigned &argNumber) {
  auto arg = dyn_cast<BlockArgument>(v);
  if (!arg || arg.getOwner() != &func.getBody().front())
    return (noun + " is not an input of the model").str();
  argNumber = arg.getArgNumber();
  for (OpOperand &use : arg.getUses())
    if (use.getOwner() != writer && !isa<eff::ShapeOp>(use.getOwner()))
      return (noun + " input is also read by ").str() + useText(use);
  return "";
}

/// Why the written cache `v` cannot be session state as an output ("" when
/// it can: returned once, otherwise read only by eff.shape and as keys or
/// values (operands 1, 2) of a `Readers` op); `noun` names it, `readerWhy`
/// says why another reader cannot. Sets `result` to its return position.
template <class... Readers>
std::string returnedOnce(Value v, StringRef noun, StringRef readerWhy, unsigned &result) {
  std::optional<unsigned> returned;
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (isa<func::ReturnOp>(user)) {
      if (returned)
        return (noun + " is returned twice").str();
      returned = use.getOperandNumber();
      continue;
    }
    if (isa<eff::ShapeOp>(user))
      continue;
    if (isa<Readers...>(user) && (use.getOperandNumber() == 1 || use.getOperandNumber() == 2))
      continue;
    return (noun + " is read by ").str() + useText(use) + readerWhy.str();
  }
  if (!returned)
    return (noun + " is not returned").str();
  result = *returned;
  return "";
}

/// Why `append` cannot be session state ("" when it can); fills `c`.
std::string whyNot(eff::KvAppendOp append, func::FuncOp func, const SymbolicShapes &shapes,
                   StateCandidate &c) {
  c.append = append;
  if (std::string why = onlyReadBy(append.getPast(), append, func, "its past", c.pastArg);
      !why.empty())
    return why;
  if (std::string why = returnedOnce<eff::AttentionOp, eff::AttentionPartialOp>(
          append.getResult(), "the present",
          ", which cannot read keys or values of another row stride", c.presentResult);
      !why.empty())
    return why;
  if (effc::ioName(func.getResultAttrDict(c.presentResult)) != append.getState())
    return "the present is not returned as '" + append.getState().str() + "'";
  auto type = cast<RankedTensorType>(append.getType());
  if (type.isDynamicDim(1) || type.isDynamicDim(3))
    return "its heads or head dim are symbolic";
  auto past = shapes.shapes.find(append.getPast());
  auto present = shapes.shapes.find(append.getResult());
  if (past == shapes.shapes.end() || present == shapes.shapes.end())
    return "its rows are static (an artifact for one past length keeps no cache)";
  const DimExpr &rows = past->second[2];
  if (rows.terms().size() != 1 || rows.terms()[0].coeff != 1 || rows.terms()[0].dims.size() != 1)
    return "the past's rows " + rows.toString() + " are not a dim alone";
  auto range = present->second[2].range(shapes.dims);
  if (!range || range->second > int64_t(append.getCapacity()))
    return llvm::formatv("the present's rows reach {0}, over the capacity {1}",
                         range ? range->second : -1, append.getCapacity())
        .str();
  return "";
}

/// Why the pool `write` cannot be session state ("" when it can); fills `c`.
std::string whyNotPool(eff::PagedKvWriteOp write, func::FuncOp func, StateCandidate &c) {
  c.pool = write;
  if (std::string why = onlyReadBy(write.getCache(), write, func, "its pool", c.pastArg);
      !why.empty())
    return why;
  if (!cast<RankedTensorType>(write.getCache().getType()).hasStaticShape())
    return "its pool's shape is not static";
  if (std::string why = returnedOnce<eff::PagedAttentionOp, eff::PagedAttentionPartialOp>(
          write.getResult(), "the written pool", ", which does not read it in place",
          c.presentResult);
      !why.empty())
    return why;
  if (effc::ioName(func.getResultAttrDict(c.presentResult)).empty())
    return "the written pool's output has no name";
  return "";
}

} // namespace

std::vector<StateCandidate> findPagedPoolStates(func::FuncOp func, bool remarks) {
  std::vector<StateCandidate> found;
  std::string reason;
  Operation *at = nullptr;
  func.walk([&](eff::PagedKvWriteOp write) {
    if (!reason.empty())
      return;
    StateCandidate c;
    reason = write->getParentOp() != func.getOperation() ? "it is inside a region"
                                                         : whyNotPool(write, func, c);
    if (!reason.empty()) {
      at = write;
      return;
    }
    found.push_back(c);
  });
  if (!reason.empty()) {
    if (remarks)
      at->emitRemark("paged KV pool not kept in session state (every pool is copied as an input "
                     "and an output): ")
          << reason;
    return {};
  }
  if (remarks)
    for (StateCandidate c : found)
      c.pool->emitRemark("paged KV pool '")
          << effc::ioName(func.getResultAttrDict(c.presentResult)) << "' kept in session state ("
          << cast<RankedTensorType>(c.pool.getType()).getDimSize(0) << " pages)";
  return found;
}

std::vector<StateCandidate> findSessionStates(func::FuncOp func, const SymbolicShapes &shapes,
                                              bool remarks) {
  std::vector<StateCandidate> found;
  std::string reason;
  Operation *at = nullptr;
  func.walk([&](eff::KvAppendOp append) {
    if (!reason.empty())
      return;
    StateCandidate c;
    if (append->getParentOp() != func.getOperation())
      reason = "it is inside a region";
    else
      reason = whyNot(append, func, shapes, c);
    if (!reason.empty()) {
      at = append;
      return;
    }
    // The session holds one row count for every state.
    if (!found.empty() && (!(shapes.shapes.lookup(c.append.getPast())[2] ==
                             shapes.shapes.lookup(found[0].append.getPast())[2]) ||
                           !(shapes.shapes.lookup(c.append.getResult())[2] ==
                             shapes.shapes.lookup(found[0].append.getResult())[2]))) {
      reason = "its rows differ from the first cache's";
      at = append;
      return;
    }
    found.push_back(c);
  });
  if (!reason.empty()) {
    if (remarks)
      at->emitRemark("KV cache not kept in session state (every cache is copied as an input "
                     "and an output): ")
          << reason;
    return {};
  }
  if (remarks)
    for (StateCandidate c : found)
      c.append->emitRemark("KV cache '") << c.append.getState() << "' kept in session state of "
                                         << c.append.getCapacity() << " rows per (batch, head)";
  return found;
}

} // namespace effc
