//===- RingAttentionPlan.cpp - eff.attention -> eff.ring_attention ---------===//
//
// Ring attention (issue 20) for --devices=N --devices-attention=ring: each
// device keeps the query rows of S / N tokens, its K/V block travels the
// ring and every device merges the partial results by log-sum-exp (the
// collective eff.ring_attention, RingAttentionOps.td; host reference
// runtime/src/host/RingAttention). Only self-attention over the whole
// sequence is cut: queries and keys at the same positions (no KV cache or
// cross attention), causal or full, without a mask operand, sliding window,
// soft-cap, ALiBi or sinks, S divisible by N. The rows of device d are
// eff.gather's of q, k and v on the sequence axis placed on d; the result
// is the whole attention output in token order on every device.
//
#include "passes/RingAttentionPlan.h"

using namespace mlir;
using namespace mlir::eff;

namespace {

/// Why `a` is not cut over `devices`, or "".
std::string whyNotRing(AttentionOp a, int64_t devices) {
  if (a.getMask())
    return "it has a mask operand (ring attention cuts causal or full attention without one)";
  if (a.getWindow() > 0)
    return "sliding window " + std::to_string(a.getWindow());
  if (a.getSoftcap().convertToFloat() != 0.f)
    return "soft-capped scores";
  if (a.getAlibiSlopes())
    return "ALiBi slopes";
  if (a.getSinks())
    return "attention sinks";
  auto q = dyn_cast<RankedTensorType>(a.getQ().getType());
  auto k = dyn_cast<RankedTensorType>(a.getK().getType());
  auto v = dyn_cast<RankedTensorType>(a.getV().getType());
  for (RankedTensorType t : {q, k, v})
    if (!t || t.getRank() != 4 || !t.hasStaticShape())
      return "q, k and v are not static 4-D tensors (compile with fixed --dim values)";
  const int64_t S = q.getDimSize(2), L = k.getDimSize(2);
  if (S != L)
    return std::to_string(S) + " queries over " + std::to_string(L) +
           " keys (a KV cache or cross attention; ring attention needs queries and keys at the "
           "same positions)";
  if (S % devices != 0)
    return "sequence " + std::to_string(S) + " does not divide over " + std::to_string(devices) +
           " devices";
  return "";
}

/// Rows `idx` (an i64 constant) of `x` [B, H, S, D] along the sequence
/// axis, on `device`.
Value rowsOn(OpBuilder &b, Location loc, Value x, Value idx, int64_t device) {
  auto g =
      b.create<GatherOp>(loc, ValueRange{x, idx},
                         ArrayRef<NamedAttribute>{b.getNamedAttr("axis", b.getI64IntegerAttr(2))});
  g->setAttr("eff.device", b.getI64IntegerAttr(device));
  return g.getResult();
}

} // namespace

std::string mlir::eff::planRingAttention(AttentionOp a, int64_t devices, StringRef layout,
                                         std::string &plan) {
  if (std::string why = whyNotRing(a, devices); !why.empty())
    return why;
  const bool causal = a.getCausal();
  const bool striped = layout == "striped" || (layout == "auto" && causal);
  const int64_t S = cast<RankedTensorType>(a.getQ().getType()).getDimSize(2), n = S / devices;
  OpBuilder b(a);
  Location loc = a.getLoc();
  SmallVector<Value> qs, ks, vs;
  SmallVector<int64_t> on;
  for (int64_t d = 0; d < devices; ++d) {
    SmallVector<int64_t> rows; // host::ringPositions(S, devices, d, striped)
    for (int64_t i = 0; i < n; ++i)
      rows.push_back(striped ? d + i * devices : d * n + i);
    auto idxType = RankedTensorType::get({n}, b.getI64Type());
    Value idx = b.create<ConstantOp>(loc, idxType, DenseIntElementsAttr::get(idxType, rows));
    qs.push_back(rowsOn(b, loc, a.getQ(), idx, d));
    ks.push_back(rowsOn(b, loc, a.getK(), idx, d));
    vs.push_back(rowsOn(b, loc, a.getV(), idx, d));
    on.push_back(d);
  }
  SmallVector<Value> blocks(qs);
  blocks.append(ks);
  blocks.append(vs);
  SmallVector<NamedAttribute> attrs{b.getNamedAttr("devices", b.getDenseI64ArrayAttr(on)),
                                    b.getNamedAttr("scale", a.getScaleAttr()),
                                    b.getNamedAttr("num_kv_heads", a.getNumKvHeadsAttr())};
  if (causal)
    attrs.push_back(b.getNamedAttr("causal", b.getUnitAttr()));
  if (striped)
    attrs.push_back(b.getNamedAttr("striped", b.getUnitAttr()));
  auto ring = b.create<RingAttentionOp>(loc, blocks, attrs);
  a.getResult().replaceAllUsesWith(ring.getResult());
  a->erase();
  plan = std::string(striped ? "striped" : "contiguous") + " tokens (" +
         (striped ? "device d holds tokens d, d + " + std::to_string(devices) + ", ..." +
                        (causal ? ", for causal balance" : "")
                  : "device d holds tokens d * " + std::to_string(n) + " .. d * " +
                        std::to_string(n) + " + " + std::to_string(n - 1)) +
         "), " + std::to_string(n) + " query rows a device, " + (causal ? "causal" : "full") +
         "; the K/V blocks pass the ring in " + std::to_string(devices - 1) +
         (devices == 2 ? " hop" : " hops") +
         ", partial results merged by log-sum-exp, the rows gathered on every device";
  return "";
}
