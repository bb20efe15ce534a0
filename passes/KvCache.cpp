//===- KvCache.cpp - a decoder exported without a cache -> with past ------===//
//
// effc --kv-cache on a decoder exported without a cache (torch.onnx.export
// of a HF model: input_ids [batch, seq] -> logits) gives it the interface of
// an Optimum export with past, which the KV-cache runtime drives
// (runtime/src/PastStepModel.cpp, PastModel.h): inputs attention_mask
// [batch, total], position_ids [batch, seq] and per layer
// past_key_values.{i}.key/value [batch, kv_heads, past, head_dim]; outputs
// present.{i}.key/value. Per eff.attention (layer i in program order) the new
// tokens' K and V (after RoPE: the attention's own operands) are joined to
// the past along the sequence axis, returned as the present (so
// eff-kv-cache-inplace makes the join an eff.kv_append) and attended over.
//
// Positions. Such a model has no input besides input_ids, so everything that
// depends on absolute position (position ids from Range/CumSum, causal and
// sliding-window masks, RoPE cos/sin, learned position embeddings) is a
// function of input_ids' shape alone: the values computed from constants and
// eff.shape ("positional" below). Rather than matching each exporter's
// formulas, the pass re-evaluates them for the whole sequence: the
// positional slice is cloned with eff.shape(input_ids) replaced by
// eff.shape(attention_mask) (seq := total), so row p of a cloned table is
// position p's value. Then
//   - the mask operand of an eff.attention keeps its query rows
//     [total - seq, total) (query i sits at past + i) and all total keys, and
//     is and-ed with attention_mask (padding); an attention without a mask
//     operand must be `causal` (bottom-right aligned: right for a cache) and
//     gets the attention_mask as its mask;
//   - slots are not positions: the runtime right-pads rows of different
//     lengths in one cache (PastStepModel, PagedSlotModel's gather), so a
//     row's later tokens sit past its padding. Causal over slots is causal
//     over positions for every real key, but a sliding window (or any mask
//     not causal alone) over slots would count the padding. So the cloned
//     mask is evaluated over positions at total = its bound (ShapeProbe's
//     probeValues; at most 2^18 elements: a longer bound is probed shorter
//     and counts as causal there only if the mask holds one comparison, a
//     window needing a second): exactly causal keeps the slot rows above
//     (no extra work);
//     otherwise it is read at token positions, pos = cum_sum(attention_mask)
//     - 1 along each row: its rows at the queries' positions (a gather of
//     the [leading * total, total] reshape), each row's keys at the keys'
//     positions (gather_elements), and-ed with attention_mask. That needs
//     one mask for every batch row and head (all leading slices equal),
//     else an error; a mask that does not evaluate is an error too (found
//     during the rewrite);
//   - a model exported with past computes its masks itself: it is left as
//     it is (eff-kv-cache-inplace warns when a mask's sliding window counts
//     cache slots, which right-padded rows break: warnSlotCountedWindows);
//   - every other positional tensor read by the model's data ([1, seq, ...]:
//     RoPE tables, position embeddings) is gathered at position_ids along
//     its sequence axis, which gives it the batch dim in front.
// Shape vectors (static-shaped positional values read as the shape operand
// of a reshape/expand/slice/...) describe the new tokens and stay.
//
// Refused, with an error naming the op and why (nothing is rewritten then):
// inputs besides input_ids, input_ids read other than by eff.shape or an
// embedding gather (token-value positions), Range/CumSum/Trilu over data, an
// attention with neither `causal` nor a mask built from compared positions
// (bidirectional), K/V that are not [batch, heads, seq, head_dim] with static
// heads and head_dim, positional tensors read otherwise than above.
//
//===----------------------------------------------------------------------===//
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/I64Constant.h"
#include "dialects/eff/ShapeProbe.h"
#include "passes/DimBounds.h"
#include "passes/PagedKvMask.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace mlir::eff {
#define GEN_PASS_DEF_KVCACHE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kOnnxBool = 9;

StringRef argName(func::FuncOp func, unsigned i) {
  auto name = func.getArgAttrOfType<StringAttr>(i, "eff.name");
  return name ? name.getValue() : StringRef();
}

std::string describe(Operation *op) {
  std::string s = op->getName().getStringRef().str();
  if (auto loc = dyn_cast<NameLoc>(op->getLoc()))
    s += " '" + loc.getName().str() + "'";
  return s;
}

/// Whether a folded mask over positions [..., n, n] (leading dims first) is
/// exactly causal (key j visible to query i iff j <= i: true or 0 visible,
/// false or <= -1e4 hidden) in every leading slice (`causal`), and whether
/// all leading slices are equal (`uniform`). False when it cannot be read.
bool readPositionMask(Attribute folded, int64_t n, bool &causal, bool &uniform) {
  auto attr = dyn_cast_or_null<ElementsAttr>(folded);
  std::vector<char> bytes;
  if (!attr || n < 1 || attr.getNumElements() % (n * n) != 0 || !getElementsBytes(attr, bytes))
    return false;
  std::vector<signed char> cls; // 1 visible, 0 hidden, -1 neither (a bias)
  std::vector<double> raw;
  Type et = attr.getElementType();
  const int64_t count = attr.getNumElements();
  if (et.isInteger(1)) {
    for (int64_t k = 0; k < count; ++k) {
      bool v = bytes[size_t(k)] != 0;
      cls.push_back(v ? 1 : 0);
      raw.push_back(v ? 1.0 : 0.0);
    }
  } else if (auto ft = dyn_cast<FloatType>(et)) {
    const unsigned width = ft.getWidth();
    for (int64_t k = 0; k < count; ++k) {
      uint64_t bits = 0;
      std::memcpy(&bits, bytes.data() + size_t(k) * (width / 8), width / 8);
      double d = APFloat(ft.getFloatSemantics(), APInt(width, bits)).convertToDouble();
      cls.push_back(d == 0.0 ? 1 : d <= -1e4 ? 0 : -1);
      raw.push_back(d);
    }
  } else {
    return false;
  }
  const int64_t slice = n * n, slices = int64_t(cls.size()) / slice;
  causal = uniform = true;
  for (int64_t s = 0; s < slices; ++s)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t k = s * slice + i * n + j;
        if (cls[size_t(k)] != (j <= i ? 1 : 0))
          causal = false;
        if (raw[size_t(k)] != raw[size_t(k % slice)] &&
            !(std::isnan(raw[size_t(k)]) && std::isnan(raw[size_t(k % slice)])))
          uniform = false;
      }
  return true;
}

struct KvCachePass : public mlir::eff::impl::KvCacheBase<KvCachePass> {
  using KvCacheBase::KvCacheBase;

  func::FuncOp func;
  BlockArgument inputIds;
  /// input_ids and its views of the same type (GPT-2: view(-1, seq)).
  llvm::DenseSet<Value> ids;
  /// Computed from constants and eff.shape only.
  llvm::DenseSet<Value> positional;
  /// Positional and depends on an eff.shape (on seq).
  llvm::DenseSet<Value> shaped;
  SmallVector<std::pair<Operation *, std::string>> refusals;

  void refuse(Operation *op, const std::string &why) { refusals.push_back({op, why}); }

  void analyze() {
    for (Operation &op : func.getBody().front()) {
      if (op.getNumRegions() || op.getNumResults() == 0 || isa<AttentionOp>(op))
        continue;
      bool isPositional, isShaped = false;
      if (auto shape = dyn_cast<ShapeOp>(op)) {
        isPositional = isShaped = true;
      } else {
        isPositional = llvm::all_of(op.getOperands(), [&](Value v) { return positional.count(v); });
        isShaped = llvm::any_of(op.getOperands(), [&](Value v) { return shaped.count(v); });
      }
      if (!isPositional)
        continue;
      for (Value r : op.getResults()) {
        positional.insert(r);
        if (isShaped)
          shaped.insert(r);
      }
    }
  }

  /// Whether `v`'s positional slice can be re-evaluated at seq := total: every
  /// eff.shape in it reads input_ids or a positional value.
  bool cloneable(Value v, std::string &why, llvm::DenseSet<Value> &seen) {
    if (!shaped.count(v) || !seen.insert(v).second)
      return true;
    Operation *def = v.getDefiningOp();
    if (auto shape = dyn_cast<ShapeOp>(def)) {
      if (ids.count(shape.getData()))
        return true;
      if (!positional.count(shape.getData())) {
        why = "a position computation reads the shape of " +
              (shape.getData().getDefiningOp() ? describe(shape.getData().getDefiningOp())
                                               : std::string("a function input")) +
              " (only input_ids' shape can be re-evaluated for the cached length)";
        return false;
      }
    }
    for (Value operand : def->getOperands())
      if (!cloneable(operand, why, seen))
        return false;
    return true;
  }

  /// `v` recomputed with eff.shape(input_ids) -> eff.shape(attention_mask).
  Value cloneAtTotal(Value v, IRMapping &map, OpBuilder &b, Value mask) {
    if (!shaped.count(v))
      return v;
    if (Value done = map.lookupOrNull(v))
      return done;
    Operation *def = v.getDefiningOp();
    if (auto shape = dyn_cast<ShapeOp>(def); shape && ids.count(shape.getData())) {
      Value total =
          b.create<ShapeOp>(shape.getLoc(), mask, shape.getStartAttr(), shape.getEndAttr());
      map.map(v, total);
      return total;
    }
    for (Value operand : def->getOperands())
      cloneAtTotal(operand, map, b, mask);
    Operation *clone = b.clone(*def, map);
    return clone->getResult(cast<OpResult>(v).getResultNumber());
  }

  /// The positional slice of `v` compares positions (causal / window masks).
  bool comparesPositions(Value v, llvm::DenseSet<Value> &seen) {
    if (!shaped.count(v) || !seen.insert(v).second)
      return false;
    Operation *def = v.getDefiningOp();
    if (isa<LessOp, LessOrEqualOp, GreaterOp, GreaterOrEqualOp, TriluOp>(def))
      return true;
    return llvm::any_of(def->getOperands(), [&](Value o) { return comparesPositions(o, seen); });
  }

  void runOnOperation() override;
};

void KvCachePass::runOnOperation() {
  func = getOperation();
  if (func.isExternal())
    return;
  int idsArg = -1;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    StringRef name = argName(func, i);
    if (name.starts_with("past_key_values.")) {
      if (remarks)
        func.emitRemark("kv-cache: the model has past_key_values inputs already; "
                        "eff-kv-cache-inplace turns its concats into cache appends");
      return; // eff-kv-cache-inplace warns of windows over cache slots
    }
    if (name == "input_ids")
      idsArg = int(i);
  }
  auto fail = [&](const Twine &message) {
    func.emitError("kv-cache: ") << message;
    signalPassFailure();
  };
  if (idsArg < 0)
    return fail("the model has no input 'input_ids' [batch, seq]");
  inputIds = func.getArgument(unsigned(idsArg));
  auto idsType = dyn_cast<RankedTensorType>(inputIds.getType());
  auto idsParams = func.getArgAttrOfType<ArrayAttr>(unsigned(idsArg), "eff.dim_params");
  if (!idsType || idsType.getRank() != 2 || !idsType.isDynamicDim(1) || !idsParams ||
      idsParams.size() != 2)
    return fail("input 'input_ids' must be [batch, seq] with a symbolic seq (compile with "
                "--dim seq=1..N)");
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (int(i) != idsArg)
      return fail("input '" +
                  (argName(func, i).empty() ? "#" + std::to_string(i) : argName(func, i).str()) +
                  "': a model without past may have no input besides input_ids (its masks and "
                  "positions would cover the new tokens only)");
  const std::string pastName = pastDim.getValue(), totalName = totalDim.getValue();
  if (!dimUpperBound(func, pastName) || !dimUpperBound(func, totalName))
    return fail("no bounds for the cache dims '" + pastName + "' and '" + totalName +
                "' (compile with e.g. --dim past=0..255 --dim total=1..288)");
  StringRef batchName = cast<StringAttr>(idsParams[0]).getValue();

  analyze();

  // What reads input_ids (or a view of it), and position computations over
  // data.
  SmallVector<Value> idsWork = {inputIds};
  ids.insert(inputIds);
  while (!idsWork.empty()) {
    Value v = idsWork.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<ShapeOp>(user) || (isa<GatherOp>(user) && use.getOperandNumber() == 1))
        continue;
      if (isa<ReshapeOp, UnsqueezeOp, SqueezeOp, FlattenOp, IdentityOp>(user) &&
          use.getOperandNumber() == 0 && user->getResult(0).getType() == idsType) {
        if (ids.insert(user->getResult(0)).second)
          idsWork.push_back(user->getResult(0));
        continue;
      }
      refuse(user, "input_ids is read by " + describe(user) +
                       ", not by an embedding gather or a shape: positions or masks computed "
                       "from token values are not supported");
    }
  }
  SmallVector<AttentionOp> attentions;
  // Positional values read by data ops: masks per attention, tables.
  llvm::DenseMap<Operation *, Value> maskOf;
  SmallVector<Value> tables;
  llvm::DenseMap<Value, Operation *> firstUser;
  for (Operation &op : func.getBody().front()) {
    if (positional.count(op.getNumResults() ? op.getResult(0) : Value()))
      continue;
    if (isa<CumSumOp, RangeOp, TriluOp>(op))
      refuse(&op, describe(&op) + " computes positions from data, not from the sequence length: "
                                  "it cannot be offset by the cached length");
    if (auto attention = dyn_cast<AttentionOp>(op))
      attentions.push_back(attention);
    if (isa<func::ReturnOp>(op))
      continue;
    for (OpOperand &use : op.getOpOperands()) {
      Value v = use.get();
      if (!shaped.count(v))
        continue;
      auto type = cast<RankedTensorType>(v.getType());
      auto attention = dyn_cast<AttentionOp>(op);
      if (attention && v == attention.getMask() && use.getOperandNumber() == 3) {
        maskOf[&op] = v;
        continue;
      }
      if (type.hasStaticShape()) {
        if (use.getOperandNumber() >= 1 &&
            isa<ReshapeOp, ExpandOp, SliceOp, UnsqueezeOp, SqueezeOp, TileOp, SplitOp>(op))
          continue; // a shape of the new tokens' tensors
        refuse(&op, describe(&op) + " reads a value computed from the sequence length (operand " +
                        std::to_string(use.getOperandNumber()) +
                        ") as data, not as a shape: it cannot be offset by the cached length");
        continue;
      }
      if (!firstUser.count(v)) {
        firstUser[v] = &op;
        tables.push_back(v);
      }
    }
  }
  if (attentions.empty())
    refuse(func, "no eff.attention (was attention raised? eff-raise-attention --remarks tells)");

  // Tables: [1, .., 1, seq, ...] read by elementwise ops whose result has
  // the table's rank (so the leading dim lines up with the batch).
  for (Value t : tables) {
    auto type = cast<RankedTensorType>(t.getType());
    std::string what = "positional tensor " + describe(t.getDefiningOp());
    int axis = -1, dynamic = 0;
    for (int d = 0; d < type.getRank(); ++d)
      if (type.isDynamicDim(d)) {
        axis = d;
        ++dynamic;
      }
    if (dynamic != 1) {
      refuse(t.getDefiningOp(),
             what + " has " + std::to_string(dynamic) +
                 " sequence-length dims and is not the mask of an eff.attention");
      continue;
    }
    bool unitsBefore = axis >= 1;
    for (int d = 0; d < axis; ++d)
      unitsBefore &= type.getDimSize(d) == 1;
    if (!unitsBefore) {
      refuse(t.getDefiningOp(), what + " is not [1, ..., seq, ...] (unit dims before its "
                                       "sequence axis, the first one for the batch)");
      continue;
    }
    for (Operation *user : t.getUsers()) {
      if (positional.count(user->getNumResults() ? user->getResult(0) : Value()))
        continue;
      auto result = user->getNumResults() == 1
                        ? dyn_cast<RankedTensorType>(user->getResult(0).getType())
                        : RankedTensorType();
      if (!user->hasTrait<OpTrait::eff::Elementwise>() || !result ||
          result.getRank() != type.getRank())
        refuse(user, what + " is read by " + describe(user) +
                         ", not by an elementwise op of its rank (RoPE tables and position "
                         "embeddings are): its batch dim would not line up");
    }
    std::string why;
    llvm::DenseSet<Value> seen;
    if (!cloneable(t, why, seen))
      refuse(t.getDefiningOp(), what + ": " + why);
  }

  // Attentions: K/V layout, masks.
  for (AttentionOp a : attentions) {
    for (Value kv : {a.getK(), a.getV()}) {
      auto type = cast<RankedTensorType>(kv.getType());
      if (type.getRank() != 4 || !type.isDynamicDim(2) || type.isDynamicDim(1) ||
          type.isDynamicDim(3)) {
        refuse(a, "its keys/values are not [batch, kv_heads, seq, head_dim] with a symbolic seq "
                  "and static heads and head_dim");
        break;
      }
    }
    auto mask = maskOf.find(a);
    if (mask == maskOf.end()) {
      if (a.getMask())
        refuse(a, "its mask is not computed from the sequence length (a fixed mask or data: "
                  "it has no rows for cached positions)");
      else if (!a.getCausal())
        refuse(a, "it is bidirectional (no causal attribute, no mask): an encoder's "
                  "attention cannot attend over a cache");
      continue;
    }
    llvm::DenseSet<Value> seen;
    if (!a.getCausal() && !comparesPositions(mask->second, seen))
      refuse(a, "its mask compares no positions (no causal or window pattern): bidirectional "
                "attention cannot attend over a cache");
    std::string why;
    seen.clear();
    if (!cloneable(mask->second, why, seen))
      refuse(a, "its mask: " + why);
    auto maskType = cast<RankedTensorType>(mask->second.getType());
    if (maskType.getRank() < 2)
      refuse(a, "its mask has rank " + std::to_string(maskType.getRank()) +
                    ", not [..., queries, keys]");
  }
  if (!refusals.empty()) {
    for (auto &[op, why] : refusals)
      op->emitError("kv-cache: not converted: ") << why;
    return signalPassFailure();
  }

  // Rewrite. New inputs, after the existing ones.
  MLIRContext *ctx = &getContext();
  OpBuilder b(ctx);
  Location loc = func.getLoc();
  auto i64 = b.getI64Type();
  auto dimParams = [&](ArrayRef<StringRef> names) {
    SmallVector<Attribute> attrs;
    for (StringRef n : names)
      attrs.push_back(b.getStringAttr(n));
    return b.getArrayAttr(attrs);
  };
  auto argAttrs = [&](StringRef name, ArrayAttr params) {
    return b.getDictionaryAttr({b.getNamedAttr("eff.name", b.getStringAttr(name)),
                                b.getNamedAttr("eff.dim_params", params)});
  };
  int64_t batch = idsType.getDimSize(0);
  StringRef seqName = cast<StringAttr>(idsParams[1]).getValue();
  unsigned maskArg = func.getNumArguments();
  (void)func.insertArgument(maskArg, RankedTensorType::get({batch, ShapedType::kDynamic}, i64),
                            argAttrs("attention_mask", dimParams({batchName, totalName})), loc);
  (void)func.insertArgument(maskArg + 1, RankedTensorType::get({batch, ShapedType::kDynamic}, i64),
                            argAttrs("position_ids", dimParams({batchName, seqName})), loc);
  Value attentionMask = func.getArgument(maskArg), positionIds = func.getArgument(maskArg + 1);

  // Clones in order of first use, so each reused clone dominates later uses
  // (one mapping for the tables, one for the masks: each list is in order).
  IRMapping map, maskMap;
  for (Value t : tables) {
    Operation *user = firstUser[t];
    b.setInsertionPoint(user);
    auto type = cast<RankedTensorType>(t.getType());
    int64_t axis = 0;
    while (!type.isDynamicDim(axis))
      ++axis;
    Value table = cloneAtTotal(t, map, b, attentionMask);
    Location at = t.getLoc();
    Value g = b.create<GatherOp>(at, table, positionIds, b.getI64IntegerAttr(axis));
    SmallVector<int64_t> units;
    for (int64_t d = 0; d < axis; ++d)
      units.push_back(d);
    g = b.create<SqueezeOp>(at, g, i64Constant(b, at, units)); // [B, seq, ...]
    if (axis >= 2) {
      SmallVector<int64_t> back;
      for (int64_t d = 1; d < axis; ++d)
        back.push_back(d);
      g = b.create<UnsqueezeOp>(at, g, i64Constant(b, at, back));
    }
    t.replaceUsesWithIf(g, [&](OpOperand &use) {
      Operation *owner = use.getOwner();
      return !positional.count(owner->getNumResults() ? owner->getResult(0) : Value()) &&
             owner != g.getDefiningOp() &&
             !(isa<AttentionOp>(owner) && use.getOperandNumber() == 3);
    });
    if (remarks)
      user->emitRemark(llvm::formatv("kv-cache: positional tensor {0} recomputed for all {1} "
                                     "positions and gathered at position_ids",
                                     describe(t.getDefiningOp()), totalName));
  }

  // Token positions of the cache slots (built once, at the first attention
  // that needs them): key slot j holds position cumsum(attention_mask)[j] - 1
  // (0 for leading padding, which attention_mask hides anyway).
  Value keyPositions;
  auto tokenPositions = [&](Location at) {
    if (keyPositions)
      return keyPositions;
    auto scalar = RankedTensorType::get({}, i64);
    Value axis = b.create<ConstantOp>(at, scalar, DenseIntElementsAttr::get(scalar, int64_t(1)));
    Value zero = b.create<ConstantOp>(at, scalar, DenseIntElementsAttr::get(scalar, int64_t(0)));
    Value count = b.create<CumSumOp>(at, attentionMask, axis);
    Value pos = b.create<SubOp>(at, count, axis);
    keyPositions = b.create<MaxOp>(at, ValueRange{pos, zero});
    return keyPositions;
  };
  // Per cloned mask: whether it is exactly causal over positions (then the
  // slot-indexed rows are exact: with right padding a real key's slot
  // precedes a query's iff its position does), or else read at token
  // positions; a why-not when neither can be shown.
  const int64_t totalHi = *dimUpperBound(func, totalName);
  llvm::DenseMap<Value, std::string> maskMode; // "causal", "positions", or an error
  auto modeOf = [&](Value full) -> std::string {
    auto found = maskMode.find(full);
    if (found != maskMode.end())
      return found->second;
    auto type = cast<RankedTensorType>(full.getType());
    int64_t leading = 1;
    for (int64_t d = 0; d + 2 < type.getRank(); ++d)
      leading *= type.isDynamicDim(d) ? 1 : type.getDimSize(d);
    // Probe at the longest total whose mask stays within 2^18 elements.
    int64_t n = totalHi;
    while (n > 1 && leading * n * n > (int64_t(1) << 18))
      n /= 2;
    SmallVector<SmallVector<int64_t>> shapes(func.getNumArguments());
    int64_t probeBatch = batch == ShapedType::kDynamic ? 1 : batch;
    shapes[idsArg] = {probeBatch, 1};
    shapes[maskArg] = {probeBatch, n};
    shapes[maskArg + 1] = {probeBatch, 1};
    SmallVector<Attribute> values(func.getNumArguments());
    std::string diagnostic;
    FailureOr<SmallVector<Attribute>> folded = probeValuesQuietly(
        func, shapes, values, {full}, llvm::formatv("{0}={1}", totalName, n).str(), diagnostic);
    bool causal = false, uniform = false;
    std::string mode;
    if (failed(folded) || !readPositionMask((*folded)[0], n, causal, uniform))
      mode = llvm::formatv("its mask could not be evaluated over {0} = {1} positions{2}{3}",
                           totalName, n, diagnostic.empty() ? "" : ": ", diagnostic)
                 .str();
    else if (causal && (n == totalHi || positionComparisons(full) == 1))
      mode = "causal"; // one comparison, causal at n: no window hides past n

    else if (!uniform)
      mode = "its mask differs between batch rows or heads at equal positions: it cannot be read "
             "at each row's token positions";
    else
      mode = "positions";
    maskMode[full] = mode;
    return mode;
  };

  auto returnOp = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<std::pair<std::string, Value>> presents;
  for (auto [layer, a] : llvm::enumerate(attentions)) {
    b.setInsertionPoint(a);
    Location at = a.getLoc();
    // The padding mask [B, 1, 1, total] (true = attend).
    Value pad = b.create<CastOp>(at, attentionMask, uint64_t(kOnnxBool));
    pad = b.create<UnsqueezeOp>(at, pad, i64Constant(b, at, {1, 2}));
    std::string maskWhat;
    if (Value m = a.getMask()) {
      Value full = cloneAtTotal(m, maskMap, b, attentionMask);
      auto type = cast<RankedTensorType>(m.getType());
      int64_t rows = type.getRank() - 2;
      if (type.isDynamicDim(rows)) {
        Value total =
            b.create<ShapeOp>(at, attentionMask, b.getI64IntegerAttr(1), b.getI64IntegerAttr(2));
        Value seq = b.create<ShapeOp>(at, inputIds, b.getI64IntegerAttr(1), b.getI64IntegerAttr(2));
        // The query rows past .. total - 1 (a gather by a range: a slice
        // with a runtime start has no kernel on every backend).
        Value end = b.create<SqueezeOp>(at, total, Value());
        Value start = b.create<SqueezeOp>(at, b.create<SubOp>(at, total, seq), Value());
        auto one = RankedTensorType::get({}, i64);
        Value step = b.create<ConstantOp>(at, one, DenseIntElementsAttr::get(one, int64_t(1)));
        Value queryRows = b.create<RangeOp>(at, start, end, step);
        std::string mode = type.isDynamicDim(rows + 1) ? modeOf(full) : "causal";
        if (mode == "causal") {
          full = b.create<GatherOp>(at, full, queryRows, b.getI64IntegerAttr(rows));
          maskWhat = "mask recomputed for all " + totalName +
                     " positions, rows of the new "
                     "queries kept, and-ed with attention_mask";
        } else if (mode == "positions") {
          // Not causal alone (a sliding window, a bias of the distance):
          // slots are not positions once rows are padded, so the mask over
          // positions [total, total] is read at [query position, key
          // position] of each row: its rows as [leading * total, total]
          // (the first leading slice's rows come first; all slices are
          // equal, checked), gathered at the query positions, then each
          // row's keys at its key positions.
          Value keyPos = tokenPositions(at); // [B, total]
          Value queryPos = b.create<GatherOp>(at, keyPos, queryRows, b.getI64IntegerAttr(1));
          Value rowsShape = b.create<ConcatOp>(at, ValueRange{i64Constant(b, at, {-1}), total},
                                               b.getI64IntegerAttr(0));
          Value table = b.create<ReshapeOp>(at, full, rowsShape);
          Value queryRowsOf = b.create<GatherOp>(at, table, queryPos, b.getI64IntegerAttr(0));
          Value keys = b.create<UnsqueezeOp>(at, keyPos, i64Constant(b, at, {1}));
          keys = b.create<ExpandOp>(
              at, keys, b.create<ShapeOp>(at, queryRowsOf, b.getI64IntegerAttr(0), IntegerAttr()));
          full = b.create<GatherElementsOp>(at, queryRowsOf, keys, b.getI64IntegerAttr(2));
          full = b.create<UnsqueezeOp>(at, full, i64Constant(b, at, {1})); // [B, 1, seq, total]
          maskWhat = "mask recomputed for all " + totalName +
                     " positions and read at each row's token positions (query and key "
                     "position = count of attention_mask before it; not causal alone, so slot "
                     "distance would count padding), and-ed with attention_mask";
        } else {
          a->emitError("kv-cache: not converted: ") << mode;
          return signalPassFailure();
        }
      } else {
        maskWhat = "mask recomputed for all " + totalName + " keys, and-ed with attention_mask";
      }
      if (type.getElementType().isInteger(1)) {
        full = b.create<AndOp>(at, full, pad);
      } else {
        auto scalar = RankedTensorType::get({}, type.getElementType());
        Value fill = b.create<ConstantOp>(
            at, scalar,
            DenseElementsAttr::get(
                scalar,
                b.getFloatAttr(type.getElementType(), -std::numeric_limits<double>::infinity())));
        full = b.create<WhereOp>(at, pad, full, fill);
      }
      a.getMaskMutable().assign(full);
    } else {
      a.getMaskMutable().assign(pad);
      maskWhat = "causal attribute kept (bottom-right: query i at past + i), attention_mask as "
                 "the mask";
    }
    std::string names[2] = {"key", "value"};
    for (int which = 0; which < 2; ++which) {
      Value fresh = which == 0 ? a.getK() : a.getV();
      auto type = cast<RankedTensorType>(fresh.getType());
      std::string past = llvm::formatv("past_key_values.{0}.{1}", layer, names[which]).str();
      unsigned arg = func.getNumArguments();
      (void)func.insertArgument(arg, type, argAttrs(past, dimParams({batchName, "", pastName, ""})),
                                loc);
      Value joined =
          b.create<ConcatOp>(at, ValueRange{func.getArgument(arg), fresh}, b.getI64IntegerAttr(2));
      if (which == 0)
        a.getKMutable().assign(joined);
      else
        a.getVMutable().assign(joined);
      presents.push_back({llvm::formatv("present.{0}.{1}", layer, names[which]).str(), joined});
    }
    if (remarks)
      a.emitRemark(llvm::formatv("kv-cache: attention over past_key_values.{0}.key/value + the "
                                 "new rows, returned as present.{0}.key/value; {1}",
                                 layer, maskWhat));
  }
  for (auto &[name, value] : presents) {
    unsigned index = func.getNumResults();
    func.insertResult(index, value.getType(),
                      b.getDictionaryAttr({b.getNamedAttr("eff.name", b.getStringAttr(name))}));
    returnOp->insertOperands(returnOp->getNumOperands(), value);
  }
}

} // namespace
