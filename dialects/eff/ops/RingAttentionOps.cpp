//===- RingAttentionOps.cpp - ring_attention ---------------------------------===//
// The runtime sends K/V blocks around the ring by these types and the device
// list alone, so the verifier checks every shape the hops and the gathered
// result rely on.
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// The 4-D static type of block `i` or null.
RankedTensorType block(ValueRange blocks, size_t i) {
  auto t = dyn_cast<RankedTensorType>(blocks[i].getType());
  return t && t.getRank() == 4 && t.hasStaticShape() ? t : RankedTensorType();
}

} // namespace

LogicalResult RingAttentionOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  ValueRange blocks = adaptor.getBlocks();
  const size_t n = adaptor.getDevices().size();
  if (n == 0 || blocks.size() != 3 * n)
    return emitOptionalError(loc, "ring_attention has ", blocks.size(), " blocks for ", n,
                             " devices (q, k and v blocks, one each per device)");
  RankedTensorType q = block(blocks, 0), v = block(blocks, 2 * n);
  if (!q || !v)
    return emitOptionalError(loc, "ring_attention q and v blocks must be static 4-D tensors, got ",
                             blocks[0].getType(), " and ", blocks[2 * n].getType());
  types.push_back(RankedTensorType::get(
      {q.getDimSize(0), q.getDimSize(1), q.getDimSize(2) * int64_t(n), v.getDimSize(3)},
      q.getElementType()));
  return success();
}

LogicalResult RingAttentionOp::verify() {
  ArrayRef<int64_t> devices = getDevices();
  const size_t n = devices.size();
  ValueRange blocks = getBlocks();
  // Devices: distinct, >= 0, below the function's eff.devices.
  int64_t count = 0;
  for (Operation *p = (*this)->getParentOp(); p && !count; p = p->getParentOp())
    if (auto attr = p->getAttrOfType<IntegerAttr>("eff.devices"))
      count = attr.getInt();
  llvm::DenseSet<int64_t> seen;
  for (auto [i, d] : llvm::enumerate(devices)) {
    if (d < 0 || (count > 0 && d >= count))
      return emitOpError("ring position ")
             << i << " is device " << d << ", outside 0.." << (count > 0 ? count - 1 : d)
             << (count > 0 ? " (the function's eff.devices)" : "");
    if (!seen.insert(d).second)
      return emitOpError("device ") << d << " is given twice; one ring position per device";
  }
  if (n == 0 || blocks.size() != 3 * n)
    return emitOpError("has ") << blocks.size() << " blocks for " << n
                               << " devices (q, k and v blocks, one each per device)";
  RankedTensorType q = block(blocks, 0), k = block(blocks, n), v = block(blocks, 2 * n);
  const char *names[] = {"q", "k", "v"};
  const RankedTensorType firsts[] = {q, k, v};
  for (auto [g, t] : llvm::enumerate(firsts))
    if (!t)
      return emitOpError() << names[g] << " block 0 must be a static 4-D tensor, got "
                           << blocks[g * n].getType();
  const int64_t B = q.getDimSize(0), Hq = q.getDimSize(1), rows = q.getDimSize(2),
                D = q.getDimSize(3), Hkv = k.getDimSize(1), Dv = v.getDimSize(3);
  if (rows < 1)
    return emitOpError("blocks of ") << rows << " rows; each device needs at least one token";
  const int64_t nkv = getNumKvHeads();
  if (nkv != Hkv || Hkv < 1 || Hq % Hkv != 0)
    return emitOpError("num_kv_heads ")
           << nkv << " with k blocks of " << Hkv << " heads and q blocks of " << Hq
           << " (query heads a multiple of the kv heads)";
  for (size_t g = 0; g < 3; ++g) {
    const int64_t want[3][4] = {{B, Hq, rows, D}, {B, Hkv, rows, D}, {B, Hkv, rows, Dv}};
    for (size_t i = 0; i < n; ++i) {
      RankedTensorType t = block(blocks, g * n + i);
      if (!t || t.getElementType() != q.getElementType() ||
          t.getShape() != ArrayRef<int64_t>(want[g]))
        return emitOpError() << names[g] << " block " << i << " has type "
                             << blocks[g * n + i].getType() << ", expected "
                             << RankedTensorType::get(want[g], q.getElementType())
                             << " (every device holds " << rows << " rows of each)";
    }
  }
  return success();
}

OpFoldResult RingAttentionOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
