//===- RaiseAttention.cpp - matmul/softmax/matmul chains to eff.attention --===//
//
// Canonicalize-then-match: rather than walking one exporter's exact node
// sequence (what ORT's fusion scripts do, and why they break with every
// exporter change), the matcher starts at an eff.softmax over the last axis
// and normalizes what exporters vary on the way:
//
//   scores side   softmax input = chain of {x*c, x/c (c a constant scalar),
//                 x + mask, where(cond, x, fill)} ending in matmul(q, k^T);
//                 constant scalar factors anywhere on q, k^T or the scores
//                 multiply into one `scale`. One tanh between the mask and
//                 the matmul is logit soft-capping (Gemma-2: c * tanh(s / c)):
//                 the factors outside it make `softcap` = c, and since
//                 c * tanh(scale * qk / c) is the attribute's form, `scale`
//                 is the inner factors times c.
//   ALiBi         an added constant whose values, per head h and query row,
//                 are slope_h * j plus a row constant (MPT: slope*(j-L+1),
//                 BLOOM: slope*j, or slope*(j-i)) is read numerically into
//                 `alibi_slopes`; the kernels compute the bias, no N x N
//                 tensor remains.
//   k^T           transpose(k', perm) (any perm: k = transpose(k', perm with
//                 its last two entries swapped)), or reshape(transpose(y, swap
//                 last two), ...) through a 3-D [B*H, ., .] view (dynamo), or
//                 else an explicit transpose of k^T.
//   mask          every additive or where term on the scores is read on
//                 its own: constant all-attend disappears, the bottom-right
//                 causal pattern becomes `causal`, a causal band of width w
//                 `causal` + `window = w`; the rest (padding, a learned
//                 bias) is kept when it broadcasts to [B,H,S,L]: one term as
//                 the mask operand, several summed into one float mask.
//   probabilities softmax -> [where(is_nan(p), 0, p)] -> matmul(., v): the
//                 NaN guard only zeroes rows with no allowed key, which is
//                 what eff.attention gives for them.
//   GQA           K and V both reshape(expand(unsqueeze(kv, 2))) repeating
//                 each kv head n times: the un-repeated kv and num_kv_heads.
//   sinks         softmax(concat([scores, sink column], -1) [- rowmax]) whose
//                 probabilities are sliced back to [..., :L] (gpt-oss): a
//                 constant column with one logit per head is `sinks`; the
//                 x - max(x) shift before a softmax is dropped anywhere.
//   rank          2-D and 3-D ([B*H, S, D]) forms get unit dims in front.
//
// Analysis is side-effect free (the same code produces the remark for a
// softmax that is not raised); the rewrite then builds eff.attention and the
// few views it needs, and the greedy driver erases what became dead.
//
//===----------------------------------------------------------------------===//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/I64Constant.h"
#include "passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

namespace mlir::eff {
#define GEN_PASS_DEF_RAISEATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A masked score: -inf, or so negative that exp(score - rowmax) is exactly 0
/// in fp32 for any real score (exporters use finfo(float32).min = -3.4e38).
/// Finite fills of this size also absorb the score they are added to.
constexpr double kMaskedThreshold = -1e30;
/// Constant masks larger than this are kept as operands without being read.
constexpr int64_t kMaxMaskElements = int64_t(1) << 24; // [1, 1, 4096, 4096]

bool isMaskedValue(double v) { return v <= kMaskedThreshold; }

RankedTensorType rankedOf(Value v) { return dyn_cast<RankedTensorType>(v.getType()); }

bool isConstant(Value v) { return v && matchPattern(v, m_Constant()); }

/// The value of a constant one-element tensor whose shape is all 1s.
std::optional<double> scalarOf(Value v) {
  auto t = rankedOf(v);
  if (!t || t.getNumElements() != 1)
    return std::nullopt;
  return getConstantScalar(v);
}

bool isScalarShaped(Value v) {
  auto t = rankedOf(v);
  return t && t.hasStaticShape() && t.getNumElements() == 1;
}

/// One scale step: v = x * c, c * x or x / c with c a constant scalar and the
/// result type equal to x's (c does not broadcast x). `dataDependent` is set
/// when v is such a product/quotient by a non-constant scalar.
std::optional<std::pair<Value, double>> scaleStep(Value v, bool *dataDependent = nullptr) {
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto mul = dyn_cast<MulOp>(op)) {
    for (auto [x, c] : {std::pair<Value, Value>{mul.getA(), mul.getB()},
                        std::pair<Value, Value>{mul.getB(), mul.getA()}}) {
      if (x.getType() != v.getType())
        continue;
      if (std::optional<double> s = scalarOf(c))
        return std::make_pair(x, *s);
      if (dataDependent && isScalarShaped(c))
        *dataDependent = true;
    }
    return std::nullopt;
  }
  if (auto div = dyn_cast<DivOp>(op)) {
    if (div.getA().getType() != v.getType())
      return std::nullopt;
    if (std::optional<double> s = scalarOf(div.getB()); s && *s != 0)
      return std::make_pair(div.getA(), 1.0 / *s);
    if (dataDependent && isScalarShaped(div.getB()))
      *dataDependent = true;
  }
  return std::nullopt;
}

/// Strips scale steps from `v`, multiplying their factors into `scale`.
Value stripScale(Value v, double &scale) {
  while (auto step = scaleStep(v)) {
    scale *= step->second;
    v = step->first;
  }
  return v;
}

/// Like stripScale, but also looks through reshapes and transposes (OPT and
/// GPT-2 scale the q projection before splitting heads). Returns the unscaled
/// value and, innermost last, the views to re-apply to it; when no factor is
/// found behind a view, `v` itself (minus outer factors) and no views.
Value stripScaleThroughViews(Value v, double &scale, SmallVectorImpl<Operation *> &views) {
  v = stripScale(v, scale);
  views.clear();
  SmallVector<Operation *> chain;
  Value cur = v;
  while (true) {
    Operation *op = cur.getDefiningOp();
    if (!op || !isa<ReshapeOp, TransposeOp>(op))
      break;
    chain.push_back(op);
    cur = op->getOperand(0);
    double factor = 1;
    Value inner = stripScale(cur, factor);
    if (inner != cur) {
      scale *= factor;
      cur = inner;
      v = cur;
      views.assign(chain.begin(), chain.end());
    }
  }
  return v;
}

/// Re-applies `views` (as found by stripScaleThroughViews) on top of `v`.
Value replayViews(OpBuilder &b, Value v, ArrayRef<Operation *> views) {
  for (Operation *view : llvm::reverse(views)) {
    IRMapping map;
    map.map(view->getOperand(0), v);
    v = b.clone(*view, map)->getResult(0);
  }
  return v;
}

/// Whether `v` leads (through scale steps, adds and wheres) to a matmul: the
/// scores side of a mask add/where, as opposed to the mask.
bool reachesMatmul(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  double unused = 1;
  v = stripScale(v, unused);
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (isa<MatMulOp>(op))
    return true;
  if (auto tanh = dyn_cast<TanhOp>(op))
    return reachesMatmul(tanh.getX(), depth + 1);
  if (auto add = dyn_cast<AddOp>(op))
    return reachesMatmul(add.getA(), depth + 1) || reachesMatmul(add.getB(), depth + 1);
  if (auto where = dyn_cast<WhereOp>(op))
    return reachesMatmul(where.getX(), depth + 1) || reachesMatmul(where.getY(), depth + 1);
  return false;
}

SmallVector<int64_t> swapLastTwo(ArrayRef<int64_t> v) {
  SmallVector<int64_t> out(v);
  std::swap(out[out.size() - 1], out[out.size() - 2]);
  return out;
}

SmallVector<int64_t> identityPerm(int64_t rank) {
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

SmallVector<int64_t> permOf(TransposeOp op, int64_t rank) {
  if (std::optional<ArrayRef<int64_t>> perm = op.getPerm())
    return SmallVector<int64_t>(*perm);
  return llvm::to_vector(llvm::reverse(identityPerm(rank)));
}

bool sameShape(Value v, ArrayRef<int64_t> shape) {
  auto t = rankedOf(v);
  return t && t.hasStaticShape() && t.getShape() == shape;
}

/// How to obtain K or V in [.., L, D] layout from what the matmuls read.
struct Source {
  enum Kind {
    Direct,     ///< `value` as it is
    Transposed, ///< transpose(value, perm)
    Reshaped,   ///< reshape(value, shape) (static shapes)
  } kind = Direct;
  Value value;
  SmallVector<int64_t> perm, shape;
};

/// Follows reshapes up from `v` (reshape(reshape(x)) == reshape(x)).
Value peelReshapes(Value v) {
  while (auto reshape = v.getDefiningOp<ReshapeOp>()) {
    auto in = rankedOf(reshape.getData());
    if (!in || !in.hasStaticShape())
      break;
    v = reshape.getData();
  }
  return v;
}

/// K in [.., L, D] layout from k^T [.., D, L]; scale factors met on the way
/// multiply into `scale`.
Source analyzeKeyT(Value kT, double &scale) {
  Value t = stripScale(kT, scale);
  auto tType = rankedOf(t);
  int64_t rank = tType.getRank();
  if (auto transpose = t.getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> perm = swapLastTwo(permOf(transpose, rank));
    Value in = stripScale(transpose.getData(), scale);
    if (perm == identityPerm(rank))
      return {Source::Direct, in, {}, {}};
    return {Source::Transposed, in, perm, {}};
  }
  // reshape(transpose(y, swap last two)) where the reshape keeps the last two
  // dims: the transpose commutes with the reshape, so k = reshape(y).
  if (auto reshape = t.getDefiningOp<ReshapeOp>(); reshape && tType.hasStaticShape()) {
    Value y = stripScale(reshape.getData(), scale);
    auto yType = rankedOf(y);
    auto transpose = y.getDefiningOp<TransposeOp>();
    if (transpose && yType && yType.hasStaticShape() && yType.getRank() >= 2 &&
        yType.getShape().take_back(2) == tType.getShape().take_back(2) &&
        permOf(transpose, yType.getRank()) == swapLastTwo(identityPerm(yType.getRank()))) {
      Value z = stripScale(transpose.getData(), scale);
      if (auto zType = rankedOf(z); zType && zType.hasStaticShape())
        return {Source::Reshaped, peelReshapes(z), {}, swapLastTwo(tType.getShape())};
    }
  }
  return {Source::Transposed, t, swapLastTwo(identityPerm(rank)), {}};
}

/// GQA repeat_kv: `src` reshaped to [B, Hkv*n, L, D] where src =
/// expand(x [B, Hkv, 1, L, D], [B, Hkv, n, L, D]) and x is an unsqueeze or
/// reshape of kv [B, Hkv, L, D]. Returns kv.
Value unrepeatKv(const Source &s) {
  Value src = s.kind == Source::Reshaped ? s.value : peelReshapes(s.value);
  SmallVector<int64_t> target = s.kind == Source::Reshaped ? s.shape : SmallVector<int64_t>{};
  if (s.kind != Source::Reshaped) {
    auto t = rankedOf(s.value);
    if (s.kind != Source::Direct || !t || !t.hasStaticShape())
      return {};
    target = SmallVector<int64_t>(t.getShape());
  }
  auto expand = src.getDefiningOp<ExpandOp>();
  if (!expand || target.size() != 4)
    return {};
  auto e = rankedOf(expand.getOutput());
  auto x = rankedOf(expand.getInput());
  if (!e || !x || !e.hasStaticShape() || !x.hasStaticShape() || e.getRank() != 5 ||
      x.getRank() != 5)
    return {};
  ArrayRef<int64_t> es = e.getShape(), xs = x.getShape();
  int64_t b = es[0], hkv = es[1], n = es[2], l = es[3], d = es[4];
  if (xs != ArrayRef<int64_t>{b, hkv, 1, l, d} ||
      ArrayRef<int64_t>(target) != ArrayRef<int64_t>{b, hkv * n, l, d})
    return {};
  Operation *def = expand.getInput().getDefiningOp();
  if (!def || !isa<UnsqueezeOp, ReshapeOp>(def))
    return {};
  Value kv = def->getOperand(0);
  if (!sameShape(kv, {b, hkv, l, d}))
    return {};
  return kv;
}

/// What a constant mask does to each [S, L] slice.
struct MaskPattern {
  enum Kind { All, Causal, Window, Other } kind = Other;
  int64_t window = 0;
};

/// Reads a constant mask element by element into `allowed` through `classify`
/// (bools as 0/1); false when it is not readable.
bool readMask(Value v, function_ref<int8_t(double)> classify, SmallVectorImpl<int8_t> &allowed) {
  ElementsAttr attr = getConstantElements(v);
  if (!attr || attr.getNumElements() > kMaxMaskElements)
    return false;
  std::vector<char> bytes;
  if (!getElementsBytes(attr, bytes))
    return false;
  Type elt = attr.getElementType();
  int64_t n = attr.getNumElements();
  allowed.resize(n);
  if (elt.isInteger(1)) {
    for (int64_t i = 0; i < n; ++i)
      allowed[i] = classify(bytes[i] ? 1 : 0);
  } else if (elt.isF32()) {
    for (int64_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      allowed[i] = classify(f);
    }
  } else if (elt.isF64()) {
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, bytes.data() + 8 * i, 8);
      allowed[i] = classify(d);
    }
  } else if (elt.isF16() || elt.isBF16()) {
    const llvm::fltSemantics &sem = cast<FloatType>(elt).getFloatSemantics();
    for (int64_t i = 0; i < n; ++i) {
      uint16_t bits;
      std::memcpy(&bits, bytes.data() + 2 * i, 2);
      allowed[i] = classify(APFloat(sem, APInt(16, bits)).convertToDouble());
    }
  } else {
    return false;
  }
  return true;
}

/// `allowed` holds 1 (attend), 0 (masked) or -1 (neither: a real bias) per
/// element of a mask of `shape` that broadcasts to [..., S, L].
MaskPattern classifyMask(ArrayRef<int8_t> allowed, ArrayRef<int64_t> shape, int64_t S, int64_t L) {
  if (ShapedType::isDynamic(S) || ShapedType::isDynamic(L) || S > L || L == 0)
    return {};
  int64_t ms = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
  int64_t ml = shape.empty() ? 1 : shape.back();
  int64_t slices = ms * ml == 0 ? 0 : int64_t(allowed.size()) / (ms * ml);
  std::optional<MaskPattern> common;
  for (int64_t g = 0; g < slices; ++g) {
    auto at = [&](int64_t i, int64_t j) {
      return allowed[g * ms * ml + (ms == 1 ? 0 : i) * ml + (ml == 1 ? 0 : j)];
    };
    bool all = true, causal = true, band = true;
    int64_t w = 0;
    for (int64_t j = 0; j < L; ++j) // the last query sits at position L - 1
      w += at(S - 1, j) == 1;
    for (int64_t i = 0; i < S; ++i) {
      int64_t pos = i + L - S;
      for (int64_t j = 0; j < L; ++j) {
        int8_t a = at(i, j);
        if (a < 0)
          return {};
        all &= a == 1;
        causal &= a == (j <= pos);
        band &= a == (j <= pos && j > pos - w);
      }
    }
    MaskPattern p;
    if (all)
      p.kind = MaskPattern::All;
    else if (causal)
      p.kind = MaskPattern::Causal;
    else if (band && w > 0)
      p = {MaskPattern::Window, w};
    else
      return {};
    if (common && (common->kind != p.kind || common->window != p.window))
      return {};
    common = p;
  }
  return common.value_or(MaskPattern{});
}

/// Reads a constant bias broadcasting to scores [B, H, S, L] as ALiBi: every
/// row (b, h, i) is slope_h * j + c(b, h, i) with one slope per head (the
/// same for every batch and query row) within fp32 rounding. Returns the H
/// slopes (a head-less bias repeats its slope), or nothing when the values
/// are not of that form or the bias is constant along the keys.
std::optional<SmallVector<float>> readAlibiSlopes(Value bias, ArrayRef<int64_t> scores) {
  auto type = rankedOf(bias);
  if (!type || !type.hasStaticShape() || type.getRank() > 4 || scores.size() != 4 ||
      llvm::any_of(scores, ShapedType::isDynamic))
    return std::nullopt;
  SmallVector<int64_t> shape(4 - type.getRank(), 1);
  llvm::append_range(shape, type.getShape());
  const int64_t heads = scores[1], keys = scores[3];
  if (shape[3] != keys || keys < 2 || (shape[1] != 1 && shape[1] != heads))
    return std::nullopt;
  SmallVector<double> values;
  SmallVector<int8_t> unusedAllowed;
  auto collect = [&](double v) -> int8_t {
    values.push_back(v);
    return 0;
  };
  if (!readMask(bias, collect, unusedAllowed) ||
      !llvm::all_of(values, [](double v) { return std::isfinite(v); }))
    return std::nullopt;
  SmallVector<float> slopes(shape[1], 0.f);
  SmallVector<bool> seen(shape[1], false);
  const int64_t rows = int64_t(values.size()) / keys;
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = values.data() + r * keys;
    const int64_t h = (r / shape[2]) % shape[1];
    const double slope = (row[keys - 1] - row[0]) / double(keys - 1);
    double magnitude = 0;
    for (int64_t j = 0; j < keys; ++j)
      magnitude = std::max(magnitude, std::fabs(row[j]));
    const double tolerance = 1e-5 * std::max(magnitude, 1e-3);
    for (int64_t j = 0; j < keys; ++j)
      if (std::fabs(row[j] - (row[0] + slope * double(j))) > tolerance)
        return std::nullopt;
    if (seen[h] && std::fabs(slopes[h] - slope) > tolerance / double(keys))
      return std::nullopt;
    slopes[h] = float(slope), seen[h] = true;
  }
  if (llvm::all_of(slopes, [](float x) { return x == 0; }))
    return std::nullopt;
  if (shape[1] == 1)
    slopes.assign(heads, slopes[0]);
  return slopes;
}

/// Everything the rewrite needs, found without touching the IR.
/// All int64 entries of a constant, or nullopt.
std::optional<SmallVector<int64_t>> constantInts(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)) || !attr.getElementType().isInteger(64))
    return std::nullopt;
  return llvm::to_vector(attr.getValues<int64_t>());
}

/// True for the axes of a reduction over the last axis alone.
bool isLastAxis(std::optional<SmallVector<int64_t>> axes, int64_t rank) {
  return axes && axes->size() == 1 && ((*axes)[0] == -1 || (*axes)[0] == rank - 1);
}

/// sub(x, reduce_max(x, axes=[-1], keepdims=1)): the stable-softmax shift
/// that exports write out before a softmax (gpt-oss with sinks).
bool isMinusRowMax(Operation *op) {
  auto sub = dyn_cast_or_null<SubOp>(op);
  if (!sub)
    return false;
  auto max = sub.getB().getDefiningOp<ReduceMaxOp>();
  auto type = rankedOf(sub.getA());
  return max && type && max.getData() == sub.getA() && max.getKeepdims() == 1 &&
         isLastAxis(constantInts(max.getAxes()), type.getRank()) &&
         sub.getType() == sub.getA().getType();
}

/// concat([scores, sinks], axis=-1) where sinks is a constant [.., 1] column
/// with one logit per query head, equal over batch and query rows: the
/// per-head logits (gpt-oss attention sinks). Fails with the reason in `why`.
FailureOr<SmallVector<float>> readSinks(ConcatOp concat, int64_t rank, std::string &why) {
  auto fail = [&](const char *reason) -> FailureOr<SmallVector<float>> {
    why = reason;
    return failure();
  };
  int64_t axis = concat.getAxis();
  if (concat.getInputs().size() != 2 || (axis != -1 && axis != rank - 1))
    return fail("scores are concatenated with something other than one sink column "
                "on the key axis");
  if (rank < 3)
    return fail("attention sinks need a head axis (scores of rank 3 or 4)");
  DenseElementsAttr column;
  auto type = rankedOf(concat.getInputs()[1]);
  if (!matchPattern(concat.getInputs()[1], m_Constant(&column)) || !type ||
      !type.hasStaticShape() || !isa<FloatType>(column.getElementType()))
    return fail("the column concatenated to the scores is not a constant (sink logits)");
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.back() != 1)
    return fail("the sink column concatenated to the scores is wider than one key");
  // [B, H, S, 1] (rank 4) or [H, S, 1] (rank 3): one value per head.
  const int64_t heads = shape[rank - 3], rowsPerHead = shape[rank - 2];
  SmallVector<float> sinks(heads, 0.f);
  SmallVector<bool> seen(heads, false);
  int64_t flat = 0;
  for (APFloat x : column.getValues<APFloat>()) {
    bool lost;
    x.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    const float value = x.convertToFloat();
    const int64_t h = (flat++ / rowsPerHead) % heads;
    if (!std::isfinite(value))
      return fail("a sink logit is not finite");
    if (seen[h] && value != sinks[h])
      return fail("the sink column varies over batch or query rows (not one logit per head)");
    sinks[h] = value;
    seen[h] = true;
  }
  return sinks;
}

/// slice(probs, starts=[0], ends=[L], axes=[-1]) with probs [.., L + 1] and
/// the result the scores' shape [.., L]: the keys' probabilities.
bool keepsLeadingKeys(SliceOp slice, RankedTensorType scores) {
  auto out = rankedOf(slice.getOutput());
  if (!scores || !out || out != scores)
    return false;
  if (slice.getSteps() && constantInts(slice.getSteps()) != SmallVector<int64_t>{1})
    return false;
  if (!slice.getAxes() || !isLastAxis(constantInts(slice.getAxes()), scores.getRank()))
    return false;
  auto starts = constantInts(slice.getStarts());
  return starts && starts->size() == 1 && (*starts)[0] == 0;
}

struct AttentionMatch {
  SoftmaxOp softmax;
  MatMulOp pv;  ///< matmul(probabilities, v): what the attention replaces
  int64_t rank; ///< 2, 3 or 4
  Value q;
  SmallVector<Operation *> qViews; ///< views to re-apply on q (scale was behind them)
  Source k, v;
  Value kvK, kvV; ///< un-repeated K/V when GQA repeat_kv was found
  double scale = 1;
  /// A mask term kept as data after classification (not an all-attend,
  /// causal or window pattern): a bool condition (attend where true, or
  /// where false with `invert`), a bool condition with a finite `fill` (the
  /// float mask where(cond, 0, fill)), or a float added to the scores times
  /// `factor`.
  struct Mask {
    bool isBool = false;
    Value value; ///< as written
    bool invert = false;
    double factor = 1;
    std::optional<double> fill;
  };
  SmallVector<Mask> masks; ///< several are summed into one float mask
  bool causal = false;
  int64_t window = 0;
  int64_t numKvHeads = 0;
  double softcap = 0;             ///< 0: no tanh soft-capping
  SmallVector<float> alibiSlopes; ///< empty: no ALiBi
  SmallVector<float> sinks;       ///< empty: no attention sinks
};

/// A mask term met on the scores chain, before classification: x + value
/// (times `scale`, the factors met after it) or where(value, x, fill).
struct MaskTerm {
  bool select;
  Value value, fill;
  double scale;
  bool invert; ///< where(cond, fill, x): attend where cond is false
};

class Matcher {
public:
  explicit Matcher(bool allowFloatMask) : allowFloatMask(allowFloatMask) {}

  FailureOr<AttentionMatch> match(SoftmaxOp softmax) {
    why.clear();
    AttentionMatch m;
    m.softmax = softmax;
    auto pType = rankedOf(softmax.getOutput());
    if (!pType || pType.getRank() < 2 || pType.getRank() > 4)
      return fail("scores are not 2-D, 3-D or 4-D");
    int64_t rank = m.rank = pType.getRank();
    int64_t axis = softmax.getAxisAttr() ? softmax.getAxisAttr().getInt() : -1;
    if (axis != -1 && axis != rank - 1)
      return fail("softmax is not over the key axis");

    // Producer side: the scores chain.
    Value cur = softmax.getInput();
    double outer = 1;
    SmallVector<MaskTerm> terms;
    MatMulOp qk;
    while (!qk) {
      bool dataDependent = false;
      if (auto step = scaleStep(cur, &dataDependent)) {
        outer *= step->second;
        cur = step->first;
        continue;
      }
      if (dataDependent)
        return fail("scores are scaled by a non-constant (data-dependent) factor");
      Operation *op = cur.getDefiningOp();
      if (isMinusRowMax(op)) { // x - max(x): softmax is shift-invariant
        cur = op->getOperand(0);
        continue;
      }
      if (auto concat = dyn_cast_or_null<ConcatOp>(op)) {
        if (!m.sinks.empty() || m.softcap != 0 || !terms.empty() || !m.alibiSlopes.empty())
          return fail("a key-axis concat below a mask, soft-cap or another concat on the scores");
        std::string reason;
        FailureOr<SmallVector<float>> sinks = readSinks(concat, rank, reason);
        if (failed(sinks))
          return fail(reason);
        for (float &sink : *sinks)
          sink = float(sink * outer);
        m.sinks = std::move(*sinks);
        cur = concat.getInputs()[0];
        continue;
      }
      if (auto tanh = dyn_cast_or_null<TanhOp>(op)) {
        // c * tanh(x): c is every factor met so far; the factors inside
        // (1 / c times the real scale) keep multiplying into `outer`.
        if (m.softcap != 0)
          return fail("more than one tanh on the scores (soft-capping applied twice)");
        if (!(outer > 0) || !std::isfinite(outer))
          return fail("the factor outside the soft-capping tanh is not positive and finite");
        m.softcap = outer;
        cur = tanh.getX();
        continue;
      }
      if (auto add = dyn_cast_or_null<AddOp>(op)) {
        if (m.softcap != 0)
          return fail("an additive term inside the soft-capping tanh (not a mask after it)");
        bool a = reachesMatmul(add.getA()), b = reachesMatmul(add.getB());
        if (a && b)
          return fail("both operands of the mask add are computed from matmuls");
        if (!a && !b)
          return fail("scores are not a matmul of two activations");
        Value s = a ? add.getA() : add.getB();
        Value term = a ? add.getB() : add.getA();
        if (s.getType() != cur.getType())
          return fail("the mask broadcasts the scores to a larger shape");
        if (m.alibiSlopes.empty() && isConstant(term) && outer > 0) {
          if (auto slopes = readAlibiSlopes(term, rankedOf(cur).getShape())) {
            for (float &slope : *slopes)
              slope = float(slope * outer);
            m.alibiSlopes = std::move(*slopes);
            cur = s;
            continue;
          }
        }
        terms.push_back({/*select=*/false, term, Value(), outer, /*invert=*/false});
        cur = s;
        continue;
      }
      if (auto where = dyn_cast_or_null<WhereOp>(op)) {
        if (m.softcap != 0)
          return fail("a where inside the soft-capping tanh (not a mask after it)");
        bool x = reachesMatmul(where.getX()), y = reachesMatmul(where.getY());
        Value s = x ? where.getX() : where.getY();
        Value fill = x ? where.getY() : where.getX();
        if (x == y || !scalarOf(fill))
          return fail("where on the scores is not a mask with a constant fill value");
        if (s.getType() != cur.getType())
          return fail("the mask broadcasts the scores to a larger shape");
        terms.push_back({/*select=*/true, where.getCondition(), fill, outer, /*invert=*/!x});
        cur = s;
        continue;
      }
      qk = dyn_cast_or_null<MatMulOp>(op);
      if (!qk)
        return fail("scores are not a matmul of two activations");
    }
    double qScale = 1, kScale = 1;
    SmallVector<Operation *> qViews;
    Value q = stripScaleThroughViews(qk.getA(), qScale, qViews);
    Value kT = qk.getB();
    {
      double unused = 1;
      if (isConstant(q) || isConstant(stripScale(kT, unused)))
        return fail("scores are not a matmul of two activations");
    }
    auto qType = rankedOf(qViews.empty() ? q : qViews.front()->getResult(0)), kTType = rankedOf(kT),
         sType = rankedOf(qk.getY());
    if (!qType || !kTType || !sType || qType.getRank() != rank || kTType.getRank() != rank ||
        sType.getRank() != rank)
      return fail("q, k^T and the scores do not all have the rank of the softmax");

    // Consumer side: probabilities -> [NaN guard] -> matmul(., v).
    Value p = softmax.getOutput();
    Value probs = p;
    SmallVector<Operation *> users(p.getUsers().begin(), p.getUsers().end());
    if (users.size() == 2) {
      auto isNan = dyn_cast<IsNaNOp>(users[0]);
      auto guard = dyn_cast<WhereOp>(users[1]);
      if (!isNan) {
        isNan = dyn_cast<IsNaNOp>(users[1]);
        guard = dyn_cast<WhereOp>(users[0]);
      }
      std::optional<double> zero = guard ? scalarOf(guard.getX()) : std::nullopt;
      if (!isNan || !guard || !isNan->hasOneUse() || guard.getCondition() != isNan.getY() ||
          guard.getY() != p || !zero || *zero != 0 || guard.getType() != p.getType())
        return fail("softmax output has users other than the value matmul and a NaN guard");
      probs = guard.getOutput();
    } else if (users.size() != 1) {
      return fail("softmax output has users other than the value matmul");
    }
    if (!probs.hasOneUse())
      return fail("softmax output has users other than the value matmul");
    if (!m.sinks.empty()) {
      // The sink's probability is dropped: probs[..., :L] feeds the matmul.
      auto slice = dyn_cast<SliceOp>(*probs.getUsers().begin());
      if (!slice || !slice.getOutput().hasOneUse() || !keepsLeadingKeys(slice, sType))
        return fail("the softmax over scores and sinks is not sliced back to the keys "
                    "(probs[..., :L]) before the value matmul");
      probs = slice.getOutput();
    }
    auto pv = dyn_cast<MatMulOp>(*probs.getUsers().begin());
    if (!pv || pv.getA() != probs)
      return fail("softmax output does not feed a matmul with V (not attention probabilities)");
    m.pv = pv;
    Value v = pv.getB();
    auto vType = rankedOf(v);
    if (!vType || vType.getRank() != rank || isConstant(v))
      return fail("V is not an activation of the rank of the scores");

    // Shapes: q [.., S, D], k^T [.., D, L], v [.., L, Dv].
    auto known = [](int64_t a, int64_t b) {
      return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
    };
    ArrayRef<int64_t> qs = qType.getShape(), ks = kTType.getShape(), vs = vType.getShape();
    for (int64_t i = 0; i + 2 < rank; ++i) {
      bool headDim = rank == 4 && i == 1;
      if (!known(ks[i], vs[i]))
        return fail("K and V have different batch or head dims");
      if (!known(qs[i], ks[i]) && !(headDim && ks[i] == 1))
        return fail("K/V batch dims do not match the queries (broadcast batch)");
    }
    m.q = q;
    m.qViews = qViews;
    m.k = analyzeKeyT(kT, kScale);
    m.v = {Source::Direct, v, {}, {}};
    m.scale = outer * qScale * kScale;
    if (!(m.scale > 0) || !std::isfinite(m.scale))
      return fail("the combined scale is not positive and finite");

    // GQA: both K and V repeat the same kv heads.
    if (rank == 4) {
      Value kvK = unrepeatKv(m.k), kvV = unrepeatKv(m.v);
      if (kvK && kvV && rankedOf(kvK).getDimSize(1) == rankedOf(kvV).getDimSize(1)) {
        m.kvK = kvK;
        m.kvV = kvV;
      }
    }
    int64_t hq = rank == 4 ? qs[1] : rank == 3 ? qs[0] : 1;
    int64_t hkv = rank == 4 ? (m.kvK ? rankedOf(m.kvK).getDimSize(1) : ks[1]) : hq;
    if (rank == 3 && ShapedType::isDynamic(hq))
      hkv = hq = ShapedType::isDynamic(ks[0]) ? vs[0] : ks[0];
    if (ShapedType::isDynamic(hkv))
      return fail("the number of KV heads is not static");
    if (!ShapedType::isDynamic(hq) && hq % hkv)
      return fail("query heads are not a multiple of KV heads");
    m.numKvHeads = hkv;

    // Mask terms: patterns become flags, the rest stays data.
    for (const MaskTerm &term : terms)
      if (failed(classify(m, term, sType.getShape())))
        return failure();
    // Several data terms add up in the scores' element type.
    if (m.masks.size() > 1)
      for (const AttentionMatch::Mask &t : m.masks)
        if (!t.isBool && !t.fill &&
            cast<ShapedType>(t.value.getType()).getElementType() != sType.getElementType())
          return fail("mask terms of different element types");
    return m;
  }

  /// Why the last match failed.
  StringRef reason() const { return why; }

private:
  FailureOr<AttentionMatch> fail(const Twine &message) {
    why = message.str();
    return failure();
  }

  /// Reads one mask term into `m`: all-attend disappears, the causal and
  /// window patterns become flags (two windows keep the narrower), anything
  /// else is kept in m.masks.
  LogicalResult classify(AttentionMatch &m, const MaskTerm &term, ArrayRef<int64_t> scores) {
    const bool select = term.select;
    const Value mask = term.value, fillValue = term.fill;
    const double maskScale = term.scale;
    auto maskType = rankedOf(mask);
    if (!maskType || !isUnidirectionallyBroadcastable(maskType.getShape(), scores)) {
      why = isConstant(mask) ? "mask is not broadcastable to [B,H,S,L]"
                             : "mask is data-dependent and not broadcastable to [B,H,S,L]";
      return failure();
    }
    if (!(maskScale > 0)) {
      why = "the scale applied to the mask is not positive";
      return failure();
    }
    double fill = 0;
    if (select) {
      fill = *scalarOf(fillValue) * maskScale;
      if (!isMaskedValue(fill)) {
        why.clear();
        llvm::raw_string_ostream os(why);
        os << "masked scores are set to " << llvm::format("%g", fill) << ", not -inf";
        return failure();
      }
    }
    int64_t S = scores[scores.size() - 2], L = scores.back();
    bool invert = term.invert;
    auto classifyValue = [&](double value) -> int8_t {
      if (select)
        return (value != 0) != invert;
      return value == 0 ? 1 : isMaskedValue(value * maskScale) ? 0 : -1;
    };
    SmallVector<int8_t> allowed;
    if (maskType.hasStaticShape() && readMask(mask, classifyValue, allowed)) {
      MaskPattern pattern = classifyMask(allowed, maskType.getShape(), S, L);
      switch (pattern.kind) {
      case MaskPattern::All:
        return success();
      case MaskPattern::Causal:
        m.causal = true;
        return success();
      case MaskPattern::Window:
        m.causal = true;
        m.window = m.window ? std::min(m.window, pattern.window) : pattern.window;
        return success();
      case MaskPattern::Other:
        break;
      }
    }
    AttentionMatch::Mask kept;
    kept.value = mask;
    kept.invert = invert;
    if (select) {
      // where(cond, s, -inf) is the bool mask; a finite fill F absorbs the
      // score it replaces (s + F == F in fp32), so s + where(cond, 0, F) is
      // exact where a bool mask would differ on rows with no allowed key.
      kept.isBool = std::isinf(fill);
      if (!std::isinf(fill))
        kept.fill = fill;
      m.masks.push_back(kept);
      return success();
    }
    if (!allowFloatMask) {
      why = "float mask is not a causal/window pattern (allow-float-mask=false)";
      return failure();
    }
    kept.factor = maskScale;
    m.masks.push_back(kept);
    return success();
  }

  bool allowFloatMask;
  std::string why;
};

Value scalarConstant(OpBuilder &b, Location loc, Type elt, double value) {
  auto type = RankedTensorType::get({}, elt);
  return b.create<ConstantOp>(loc, type, DenseElementsAttr::get(type, b.getFloatAttr(elt, value)));
}

Value materialize(OpBuilder &b, Location loc, const Source &s) {
  switch (s.kind) {
  case Source::Direct:
    return s.value;
  case Source::Transposed:
    return b.create<TransposeOp>(loc, s.value, b.getDenseI64ArrayAttr(s.perm));
  case Source::Reshaped:
    if (sameShape(s.value, s.shape))
      return s.value;
    return b.create<ReshapeOp>(loc, s.value, i64Constant(b, loc, s.shape));
  }
  return {};
}

/// [.., X, Y] of rank 2 or 3 -> rank 4 with unit dims in front.
Value toRank4(OpBuilder &b, Location loc, Value v, int64_t rank) {
  if (rank == 4)
    return v;
  SmallVector<int64_t> axes = rank == 3 ? SmallVector<int64_t>{0} : SmallVector<int64_t>{0, 1};
  return b.create<UnsqueezeOp>(loc, v, i64Constant(b, loc, axes));
}

std::string describe(const AttentionMatch &m) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "raised attention (";
  if (m.causal)
    os << "causal, ";
  if (m.window)
    os << "window=" << m.window << ", ";
  if (m.softcap)
    os << "softcap=" << llvm::format("%g", m.softcap) << ", ";
  if (!m.alibiSlopes.empty()) {
    os << "alibi slopes=[";
    llvm::interleaveComma(m.alibiSlopes, os, [&](float x) { os << llvm::format("%g", x); });
    os << "], ";
  }
  if (!m.sinks.empty()) {
    os << "sinks=[";
    llvm::interleaveComma(m.sinks, os, [&](float x) { os << llvm::format("%g", x); });
    os << "], ";
  }
  if (m.masks.size() > 1)
    os << "float mask (sum of " << m.masks.size() << " terms), ";
  else if (m.masks.size() == 1)
    os << (m.masks[0].isBool ? "bool mask, " : "float mask, ");
  os << "num_kv_heads=" << m.numKvHeads << ", scale=" << llvm::format("%g", m.scale) << ")";
  return text;
}

/// The one mask operand for the kept mask terms (null without any): a single
/// term as the kernels take it (bool, or float), several as the sum of their
/// float forms (bool terms as where(cond, 0, -inf)).
Value buildMask(OpBuilder &b, Location loc, const AttentionMatch &m, Type elt) {
  auto floatForm = [&](const AttentionMatch::Mask &t, bool keepBool) -> Value {
    if (t.isBool && keepBool)
      return t.invert ? b.create<NotOp>(loc, t.value).getResult() : t.value;
    if (t.isBool || t.fill) {
      Value zero = scalarConstant(b, loc, elt, 0);
      Value fill = scalarConstant(b, loc, elt, t.fill ? *t.fill : -INFINITY);
      return t.invert ? b.create<WhereOp>(loc, t.value, fill, zero)
                      : b.create<WhereOp>(loc, t.value, zero, fill);
    }
    if (t.factor == 1)
      return t.value;
    Type valueElt = cast<ShapedType>(t.value.getType()).getElementType();
    return b.create<MulOp>(loc, t.value, scalarConstant(b, loc, valueElt, t.factor));
  };
  if (m.masks.empty())
    return Value();
  if (m.masks.size() == 1)
    return floatForm(m.masks[0], /*keepBool=*/true);
  Value sum = floatForm(m.masks[0], false);
  for (const AttentionMatch::Mask &t : ArrayRef(m.masks).drop_front())
    sum = b.create<AddOp>(loc, sum, floatForm(t, false));
  return sum;
}

struct RaiseSoftmaxToAttention : OpRewritePattern<SoftmaxOp> {
  RaiseSoftmaxToAttention(MLIRContext *ctx, bool allowFloatMask, bool remarks)
      : OpRewritePattern(ctx), allowFloatMask(allowFloatMask), remarks(remarks) {}

  LogicalResult matchAndRewrite(SoftmaxOp softmax, PatternRewriter &rewriter) const override {
    Matcher matcher(allowFloatMask);
    FailureOr<AttentionMatch> found = matcher.match(softmax);
    if (failed(found))
      return rewriter.notifyMatchFailure(softmax, matcher.reason());
    AttentionMatch &m = *found;
    Location loc = softmax.getLoc();
    rewriter.setInsertionPoint(m.pv);

    Value q = replayViews(rewriter, m.q, m.qViews), k, v;
    if (m.kvK) {
      k = m.kvK;
      v = m.kvV;
    } else {
      k = materialize(rewriter, loc, m.k);
      v = materialize(rewriter, loc, m.v);
    }
    q = toRank4(rewriter, loc, q, m.rank);
    k = toRank4(rewriter, loc, k, m.rank);
    v = toRank4(rewriter, loc, v, m.rank);

    Value mask = buildMask(rewriter, loc, m, cast<ShapedType>(q.getType()).getElementType());
    auto attention = rewriter.create<AttentionOp>(
        loc, q, k, v, mask, rewriter.getF32FloatAttr(float(m.scale)),
        m.causal ? rewriter.getUnitAttr() : UnitAttr(), rewriter.getI64IntegerAttr(m.window),
        rewriter.getI64IntegerAttr(m.numKvHeads), rewriter.getF32FloatAttr(float(m.softcap)),
        m.alibiSlopes.empty() ? DenseF32ArrayAttr() : rewriter.getDenseF32ArrayAttr(m.alibiSlopes),
        m.sinks.empty() ? DenseF32ArrayAttr() : rewriter.getDenseF32ArrayAttr(m.sinks),
        /*out_perm=*/DenseI64ArrayAttr());
    Value result = attention.getY();
    if (m.rank < 4) {
      SmallVector<int64_t> axes =
          m.rank == 3 ? SmallVector<int64_t>{0} : SmallVector<int64_t>{0, 1};
      result = rewriter.create<SqueezeOp>(loc, result, i64Constant(rewriter, loc, axes));
    }
    if (remarks)
      attention->emitRemark(describe(m));
    rewriter.replaceOp(m.pv, result);
    return success();
  }

  bool allowFloatMask, remarks;
};

struct RaiseAttentionPass : public mlir::eff::impl::RaiseAttentionBase<RaiseAttentionPass> {
  using RaiseAttentionBase::RaiseAttentionBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseSoftmaxToAttention>(&getContext(), allowFloatMask, remarks);
    GreedyRewriteConfig config;
    config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
    config.useTopDownTraversal = true; // remarks in program order
    if (failed(applyPatternsAndFoldGreedily(func, std::move(patterns), config)))
      return signalPassFailure();
    if (!remarks)
      return;
    // After the driver converged: one remark per softmax left, with the
    // reason the matcher gives for it.
    Matcher matcher(allowFloatMask);
    func.walk([&](SoftmaxOp softmax) {
      if (failed(matcher.match(softmax)))
        softmax->emitRemark("softmax not raised to attention: ") << matcher.reason();
    });
  }
};

} // namespace
