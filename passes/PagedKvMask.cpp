//===- PagedKvMask.cpp - is an attention mask exactly causal + padding? ---===//
#include "passes/PagedKvMask.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ShapeProbe.h"
#include "passes/DimBounds.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <vector>

using namespace mlir;

namespace mlir::eff {

namespace {

StringRef argName(func::FuncOp func, unsigned a) {
  auto name = func.getArgAttrOfType<StringAttr>(a, "eff.name");
  return name ? name.getValue() : StringRef();
}

/// [lo, hi] of dim `d` of argument `a`: static, or the eff.dims bounds of
/// the dim its eff.dim_params names; `fallback` when neither is known.
std::pair<int64_t, int64_t> argDimRange(func::FuncOp func, unsigned a, unsigned d,
                                        std::pair<int64_t, int64_t> fallback) {
  auto type = cast<RankedTensorType>(func.getArgument(a).getType());
  if (!type.isDynamicDim(d))
    return {type.getDimSize(d), type.getDimSize(d)};
  auto params = func.getArgAttrOfType<ArrayAttr>(a, "eff.dim_params");
  auto name = params && d < params.size() ? dyn_cast<StringAttr>(params[d]) : StringAttr();
  auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
  auto bounds = name && dims ? dyn_cast_or_null<DenseI64ArrayAttr>(dims.get(name.getValue()))
                             : DenseI64ArrayAttr();
  if (!bounds || bounds.size() != 2)
    return fallback;
  return {bounds[0], bounds[1]};
}

/// A constant of `type` whose element at flat index k is value(k).
Attribute filled(RankedTensorType type, const std::function<int64_t(int64_t)> &value) {
  Type et = type.getElementType();
  int64_t n = type.getNumElements();
  if (auto ft = dyn_cast<FloatType>(et)) {
    SmallVector<APFloat> values;
    for (int64_t k = 0; k < n; ++k) {
      APFloat v(double(value(k)));
      bool lost;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(v);
    }
    return DenseElementsAttr::get(type, values);
  }
  if (et.isInteger(1)) {
    SmallVector<bool> values;
    for (int64_t k = 0; k < n; ++k)
      values.push_back(value(k) != 0);
    return DenseElementsAttr::get(type, values);
  }
  if (auto it = dyn_cast<IntegerType>(et)) {
    SmallVector<APInt> values;
    for (int64_t k = 0; k < n; ++k)
      values.push_back(APInt(it.getWidth(), uint64_t(value(k)), /*isSigned=*/true));
    return DenseElementsAttr::get(type, values);
  }
  return {};
}

/// 1 attend, 0 masked, -1 neither (a float that is not 0 and not <= -1e4:
/// a bias), per element of a folded mask.
bool classify(ElementsAttr attr, std::vector<signed char> &out, double &bias) {
  std::vector<char> bytes;
  if (!getElementsBytes(attr, bytes))
    return false;
  Type et = attr.getElementType();
  int64_t n = attr.getNumElements();
  out.resize(size_t(n));
  if (et.isInteger(1)) {
    for (int64_t k = 0; k < n; ++k)
      out[size_t(k)] = bytes[size_t(k)] != 0 ? 1 : 0;
    return true;
  }
  auto ft = dyn_cast<FloatType>(et);
  if (!ft)
    return false;
  const unsigned width = ft.getWidth();
  const size_t size = width / 8;
  for (int64_t k = 0; k < n; ++k) {
    uint64_t raw = 0;
    std::memcpy(&raw, bytes.data() + size_t(k) * size, size);
    double v = APFloat(ft.getFloatSemantics(), APInt(width, raw)).convertToDouble();
    out[size_t(k)] = v == 0.0 ? 1 : v <= -1e4 ? 0 : -1;
    if (out[size_t(k)] < 0)
      bias = v;
  }
  return true;
}

/// One probe point's folded mask, as attend/masked over [B, H, S, T]
/// (broadcast dims of size 1 read index 0).
struct Probe {
  int64_t past, seq;
  SmallVector<int64_t> shape, strides; // right-aligned to 4 dims
  std::vector<signed char> cls;
  int at(int64_t b, int64_t h, int64_t i, int64_t j) const {
    int64_t idx[4] = {b, h, i, j}, off = 0;
    for (int d = 0; d < 4; ++d)
      off += (shape[d] == 1 ? 0 : idx[d]) * strides[d];
    return cls[size_t(off)];
  }
};

} // namespace

std::string pagedMaskProblem(func::FuncOp func, Value mask, int &probes, int64_t &slidingWindow,
                             bool *countsSlots) {
  probes = 0;
  if (countsSlots)
    *countsSlots = false;
  slidingWindow = 0;
  int ids = -1, am = -1, pos = -1;
  SmallVector<unsigned> pasts;
  for (unsigned a = 0; a < func.getNumArguments(); ++a) {
    StringRef name = argName(func, a);
    if (name == "input_ids")
      ids = int(a);
    else if (name == "attention_mask")
      am = int(a);
    else if (name == "position_ids")
      pos = int(a);
    else if (name.starts_with("past_key_values."))
      pasts.push_back(a);
  }
  if (ids < 0 || am < 0 || pasts.empty())
    return "the mask cannot be checked without input_ids, attention_mask and a past input";
  auto amType = cast<RankedTensorType>(func.getArgument(unsigned(am)).getType());
  auto idsType = cast<RankedTensorType>(func.getArgument(unsigned(ids)).getType());
  if (amType.getRank() != 2 || idsType.getRank() != 2)
    return "attention_mask or input_ids is not [batch, positions] (the mask cannot be checked "
           "against causal + padding)";

  // The probe points: a batch of up to 2 rows, seq and past at their bounds
  // and midpoints, total = past + seq within attention_mask's bounds.
  auto [bLo, bHi] = argDimRange(func, unsigned(ids), 0, {1, 2});
  const int64_t B = std::max<int64_t>(bLo, std::min<int64_t>(2, bHi));
  auto [sLo, sHi] = argDimRange(func, unsigned(ids), 1, {1, 8});
  auto [pLo, pHi] = argDimRange(func, pasts[0], 2, {0, 16});
  auto [tLo, tHi] = argDimRange(func, unsigned(am), 1, {0, pHi + sHi});
  std::set<std::pair<int64_t, int64_t>> points;
  for (int64_t p : {pLo, (pLo + pHi) / 2, pHi})
    for (int64_t s : {sLo, (sLo + sHi) / 2, sHi})
      if (p + s >= std::max<int64_t>(tLo, 1) && p + s <= tHi && s >= 1 &&
          B * s * (p + s) <= (int64_t(1) << 24))
        points.insert({p, s});
  if (points.empty())
    return "no (past, seq) point within the dims' bounds to check the mask at";

  // attention_mask: row 0 all ones; row 1 (row 0 when B = 1) left-padded
  // one position, with a hole in the middle (the last position is real).
  auto amValue = [&](int64_t b, int64_t j, int64_t T) -> int64_t {
    bool padded = (B == 1 || b % 2 == 1) && (j == 0 || j == T / 2) && j != T - 1;
    return padded ? 0 : 1;
  };

  // Token position of slot j of row b: how many real slots precede it
  // (eff-kv-cache reads a windowed mask at these, so padding slots do not
  // count against the window; without holes they are the slots).
  auto positions = [&](int64_t b, int64_t T) {
    std::vector<int64_t> pos(size_t(T) + 1, 0);
    for (int64_t k = 0; k < T; ++k)
      pos[size_t(k) + 1] = pos[size_t(k)] + (amValue(b, k, T) != 0);
    return pos;
  };
  std::vector<Probe> done;
  int64_t window = -1;    // smallest q - j masked that causal + padding attends
  int64_t posWindow = -1; // the same in token positions
  for (auto [index, point] : llvm::enumerate(points)) {
    auto [P, S] = point;
    const int64_t T = P + S;
    std::string where = llvm::formatv("past={0}, seq={1}", P, S).str();
    SmallVector<SmallVector<int64_t>> shapes(func.getNumArguments());
    SmallVector<Attribute> values(func.getNumArguments());
    auto shaped = [&](unsigned a, SmallVector<int64_t> shape) {
      auto type = cast<RankedTensorType>(func.getArgument(a).getType());
      for (unsigned d = 0; d < shape.size(); ++d)
        if (!type.isDynamicDim(d))
          shape[d] = type.getDimSize(d);
      shapes[a] = shape;
      return RankedTensorType::get(shape, type.getElementType());
    };
    // input_ids' values alternate between 0 and 1 over the points: a mask
    // that reads them (a pad id) differs somewhere.
    values[unsigned(ids)] =
        filled(shaped(unsigned(ids), {B, S}), [&](int64_t) { return int64_t(index % 2); });
    values[unsigned(am)] =
        filled(shaped(unsigned(am), {B, T}), [&](int64_t k) { return amValue(k / T, k % T, T); });
    if (pos >= 0) {
      auto posType = cast<RankedTensorType>(func.getArgument(unsigned(pos)).getType());
      if (posType.getRank() == 2)
        values[unsigned(pos)] =
            filled(shaped(unsigned(pos), {B, S}), [&](int64_t k) { return P + k % S; });
    }
    for (unsigned a : pasts) {
      auto type = cast<RankedTensorType>(func.getArgument(a).getType());
      if (type.getRank() != 4)
        return ("the past input '" + argName(func, a) + "' is not rank 4").str();
      shaped(a, {B, type.getDimSize(1), P, type.getDimSize(3)});
    }
    for (auto [a, v] : llvm::enumerate(values))
      if (shapes[a].size() && v == Attribute() && (int(a) == ids || int(a) == am || int(a) == pos))
        return ("no probe value for the input '" + argName(func, unsigned(a)) + "'").str();

    std::string diagnostic;
    FailureOr<SmallVector<Attribute>> folded =
        probeValuesQuietly(func, shapes, values, {mask}, where, diagnostic);
    if (failed(folded))
      return "the mask could not be evaluated at " + where + ": " + diagnostic;
    auto attr = dyn_cast_or_null<ElementsAttr>((*folded)[0]);
    if (!attr)
      return "the mask does not fold to a constant at " + where +
             " (it depends on more than attention_mask, positions and shapes)";
    Probe probe{P, S, {}, {}, {}};
    double bias = 0;
    if (!classify(attr, probe.cls, bias))
      return "the mask's element type is neither i1 nor float";
    for (int64_t k = 0; k < int64_t(probe.cls.size()); ++k)
      if (probe.cls[size_t(k)] < 0)
        return llvm::formatv("the mask adds {0} at {1} (a bias, not only 0 and -inf)", bias, where)
            .str();
    auto shape = attr.getShapedType().getShape();
    if (shape.size() > 4)
      return "the mask has more than 4 dims";
    probe.shape.assign(4 - shape.size(), 1);
    probe.shape.append(shape.begin(), shape.end());
    probe.strides.assign(4, 1);
    for (int d = 2; d >= 0; --d)
      probe.strides[d] = probe.strides[d + 1] * probe.shape[d + 1];
    const int64_t full[4] = {B, probe.shape[1], S, T};
    for (int d = 0; d < 4; ++d)
      if (probe.shape[d] != 1 && probe.shape[d] != full[d])
        return llvm::formatv(
                   "the mask's shape does not broadcast to [batch, heads, {0}, {1}] at {2}", S, T,
                   where)
            .str();
    for (int64_t b = 0; b < B; ++b) {
      const std::vector<int64_t> pos = positions(b, T);
      for (int64_t h = 0; h < probe.shape[1]; ++h)
        for (int64_t i = 0; i < S; ++i) {
          const int64_t q = P + i;
          if (amValue(b, q, T) == 0)
            continue; // a padded query's row is never read
          for (int64_t j = 0; j < T; ++j) {
            const bool expected = amValue(b, j, T) != 0 && j <= q;
            const bool got = probe.at(b, h, i, j) == 1;
            if (got && !expected)
              return llvm::formatv("the mask lets query {0} attend key {1} of row {2} at {3}, "
                                   "which causal + padding masks",
                                   q, j, b, where)
                  .str();
            if (expected && !got) {
              window = window < 0 ? q - j : std::min(window, q - j);
              const int64_t d = pos[size_t(q)] - pos[size_t(j)];
              posWindow = posWindow < 0 ? d : std::min(posWindow, d);
            }
          }
        }
    }
    done.push_back(std::move(probe));
  }
  if (window < 0) {
    probes = int(done.size());
    return "";
  }
  if (window == 0)
    return "the mask hides a query's own position (no sliding window does)";
  // Masked where causal + padding attends: a sliding window of `window`
  // slots (key j attends query q iff q - j < window), or of `posWindow`
  // token positions, if that explains every point, else something else.
  auto windowProblem = [&](bool byPosition) -> std::string {
    const int64_t w = byPosition ? posWindow : window;
    for (const Probe &probe : done) {
      const int64_t T = probe.past + probe.seq;
      for (int64_t b = 0; b < B; ++b) {
        const std::vector<int64_t> pos = positions(b, T);
        for (int64_t h = 0; h < probe.shape[1]; ++h)
          for (int64_t i = 0; i < probe.seq; ++i) {
            const int64_t q = probe.past + i;
            if (amValue(b, q, T) == 0)
              continue;
            for (int64_t j = 0; j < T; ++j) {
              const int64_t d = byPosition ? pos[size_t(q)] - pos[size_t(j)] : q - j;
              if ((probe.at(b, h, i, j) == 1) != (amValue(b, j, T) != 0 && j <= q && d < w))
                return llvm::formatv("the mask masks keys that causal + padding attends and is "
                                     "not a sliding window of {5} positions either (query {0}, "
                                     "key {1}, row {2} at past={3}, seq={4})",
                                     q, j, b, probe.past, probe.seq, w)
                    .str();
            }
          }
      }
    }
    return "";
  };
  std::string problem = windowProblem(false);
  const bool byPositions = posWindow > 0 && windowProblem(true).empty();
  if (countsSlots)
    *countsSlots = problem.empty() && !byPositions;
  if (!problem.empty() && byPositions) {
    problem.clear();
    window = posWindow;
  }
  if (!problem.empty())
    return problem;
  probes = int(done.size());
  slidingWindow = window;
  return "";
}

int positionComparisons(Value v) {
  llvm::DenseSet<Operation *> seen;
  SmallVector<Value> work = {v};
  int count = 0;
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || !seen.insert(def).second)
      continue;
    count += isa<LessOp, LessOrEqualOp, GreaterOp, GreaterOrEqualOp, TriluOp>(def);
    work.append(def->operand_begin(), def->operand_end());
  }
  return count;
}

void warnSlotCountedWindows(func::FuncOp func) {
  bool hasPast = false;
  for (unsigned a = 0; a < func.getNumArguments(); ++a)
    hasPast |= argName(func, a).starts_with("past_key_values.");
  if (!hasPast)
    return;
  func.walk([&](AttentionOp a) {
    if (!a.getMask() || positionComparisons(a.getMask()) < 2)
      return;
    int probes = 0;
    int64_t window = 0;
    bool countsSlots = false;
    if (pagedMaskProblem(func, a.getMask(), probes, window, &countsSlots).empty() && countsSlots)
      a.emitWarning(llvm::formatv(
          "kv-cache: the exported mask has a sliding window of {0} positions counted over "
          "cache slots: the unpaged KV-cache runtime right-pads rows of different lengths in "
          "one batch and that padding counts against the window, so such rows (prompts of "
          "different lengths in one generate, requests joining the serving engine at "
          "different steps) lose keys they should see; run rows of equal length, or compile "
          "with --paged-kv (its window counts each sequence's own positions)",
          window));
  });
}

} // namespace mlir::eff
