//===- PackedTokens.cpp - a paged decoder over packed ragged tokens -------===//
//
// What eff-paged-kv leaves of a decoder (input_ids [B, S], paged attention
// through block_table [B, max_pages] and seq_lens [B], new rows stored at
// slot_mapping [B, S]) runs B rows of S columns: a step of ragged feeds pads
// every row to the longest. With input_ids [1, T] (compiled with --dim
// batch=1 and a symbolic seq) the T columns can instead hold the new tokens
// of many sequences packed one after another, no padding (issue 19's
// "ragged lengths, no padding to the longest"; vLLM's flattened tokens):
// everything but attention computes each token on its own (checked below),
// slot_mapping already names each token's own pool slot, and attention is
// made per token: q [1, Hq, T, D] is transposed to [T, Hq, 1, D], so each
// token is a row of eff.paged_attention(_partial) with one query, read
// through its own block table row (its sequence's pages) and length (its
// position + 1: causal, it sees its sequence's keys up to itself, the
// earlier tokens of the same run included, written by eff.paged_kv_write
// before the attention). The inputs become block_table [seqs, max_pages]
// (one row per sequence of the run; seqs a new dim, 1..T's bound), token_seq
// [T] (each token's row: the model gathers the per-token table on the
// device, so only seqs x max_pages entries come in) and token_seq_lens [T]
// (the runtime's PagedSlotModel packs its feeds this way when it sees
// token_seq); the output logits are [1, T, vocab], one row per token.
//
// Packing is exact only when nothing else mixes tokens: every op outside the
// paged attention must compute each token from that token alone. With batch
// 1 every token-dependent value has a dim whose extent follows the token
// count T (T or a multiple of it): the dims that change between the
// function's shapes probed at two values of seq (ShapeProbe.h; a type may
// leave a fixed dim dynamic, as a reshape's inferred heads). The check: no
// op reduces, contracts, pairs, concatenates, slices, gathers or normalizes
// along such a dim, no reshape moves a token's elements across tokens, and
// the token count read with eff.shape only sizes reshapes and expands.
// Anything else (an op that is not known to keep tokens apart included)
// leaves the model as it is, with a remark naming the op.
//
//===----------------------------------------------------------------------===//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/IoName.h"
#include "dialects/eff/ShapeProbe.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_PACKEDTOKENS
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

std::string nameOf(Operation *op) { return op->getName().getStringRef().str(); }

/// Which dims of each value carry tokens: those whose extent changes with
/// the token count T between two probes of the function's shapes
/// (ShapeProbe.h; a dim a type leaves dynamic may still be fixed, as a
/// reshape's inferred heads).
class TokenDims {
public:
  using Shapes = llvm::DenseMap<Value, SmallVector<int64_t>>;
  TokenDims(Shapes a, Shapes b) : a_(std::move(a)), b_(std::move(b)) {}

  /// Token dims of `v` (none for a value whose type is static).
  SmallVector<int64_t> of(Value v) const {
    SmallVector<int64_t> dims;
    auto x = a_.find(v), y = b_.find(v);
    if (x == a_.end() || y == b_.end())
      return dims;
    for (size_t d = 0; d < x->second.size() && d < y->second.size(); ++d)
      if (x->second[d] != y->second[d])
        dims.push_back(int64_t(d));
    return dims;
  }
  int count(Value v) const { return int(of(v).size()); }
  /// Whether axis `axis` (negative: from the end) of `v` carries tokens.
  bool at(Value v, int64_t axis) const {
    auto r = dyn_cast<RankedTensorType>(v.getType());
    if (!r)
      return count(v) > 0;
    if (axis < 0)
      axis += r.getRank();
    return llvm::is_contained(of(v), axis);
  }
  /// The elements before `v`'s one token dim (at the first probe), or
  /// nullopt when it has not exactly one.
  std::optional<int64_t> prefix(Value v) const {
    SmallVector<int64_t> dims = of(v);
    if (dims.size() != 1)
      return std::nullopt;
    const SmallVector<int64_t> &shape = a_.find(v)->second;
    int64_t p = 1;
    for (int64_t d = 0; d < dims[0]; ++d)
      p *= shape[size_t(d)];
    return p;
  }

private:
  Shapes a_, b_;
};

/// Why `op` may compute a token from other tokens' values, or "".
std::string mixesTokens(Operation *op, const TokenDims &tokens) {
  auto carries = [&](Value v) { return tokens.count(v) > 0; };
  if (!llvm::any_of(op->getOperands(), carries) && !llvm::any_of(op->getResults(), carries))
    return "";
  if (isa<func::ReturnOp>(op))
    return "";
  if (isa<PagedAttentionOp, PagedAttentionPartialOp, AttentionCombineOp, PagedKvWriteOp>(op))
    return ""; // attention is made per token below; the writes are per token
  if (op->hasTrait<OpTrait::eff::Elementwise>())
    return "";
  if (isa<ConstantOp, ConstantOfShapeOp, ShapeOp, ExpandOp, UnsqueezeOp, SqueezeOp, TransposeOp,
          RopeOp>(op))
    return ""; // broadcasts, views and per-position rotations (eff.shape: tokenCountProblem)
  if (isa<ReshapeOp, FlattenOp>(op)) {
    auto a = tokens.prefix(op->getOperand(0)), b = tokens.prefix(op->getResult(0));
    if (a && b && *a == *b)
      return "";
    return nameOf(op) + " regroups the tokens (not one token dim after the same leading "
                        "elements)";
  }
  if (auto m = dyn_cast<MatMulOp>(op)) {
    auto b = cast<RankedTensorType>(m.getB().getType());
    if (tokens.at(m.getA(), -1) || tokens.at(m.getB(), b.getRank() == 1 ? 0 : -2) ||
        tokens.count(m.getResult()) > 1)
      return "an eff.matmul contracts or pairs tokens";
    return "";
  }
  if (auto g = dyn_cast<GemmOp>(op)) {
    if (tokens.at(g.getA(), g.getTransA() ? 0 : 1) || tokens.at(g.getB(), g.getTransB() ? 1 : 0) ||
        tokens.count(g.getResult()) > 1)
      return "an eff.gemm contracts or pairs tokens";
    return "";
  }
  if (auto s = dyn_cast<SoftmaxOp>(op))
    return tokens.at(s.getInput(), s.getAxis()) ? "an eff.softmax over the tokens" : "";
  auto normProblem = [&](Value x, int64_t axis) -> std::string {
    auto r = cast<RankedTensorType>(x.getType());
    if (axis < 0)
      axis += r.getRank();
    for (int64_t d : tokens.of(x))
      if (d >= axis)
        return nameOf(op) + " normalizes over the tokens";
    return "";
  };
  if (auto n = dyn_cast<LayerNormOp>(op))
    return normProblem(n.getX(), n.getAxis());
  if (auto n = dyn_cast<RMSNormOp>(op))
    return normProblem(n.getX(), n.getAxis());
  if (auto c = dyn_cast<ConcatOp>(op))
    return tokens.at(c->getResult(0), c.getAxis()) ? "an eff.concat along the tokens" : "";
  if (auto s = dyn_cast<SplitOp>(op))
    return tokens.at(s.getInput(), s.getAxis()) ? "an eff.split along the tokens" : "";
  if (auto g = dyn_cast<GatherOp>(op))
    return tokens.at(g.getData(), g.getAxis()) ? "an eff.gather picks tokens" : "";
  if (auto s = dyn_cast<SliceOp>(op)) {
    DenseIntElementsAttr axes;
    if (!carries(s.getData()))
      return "";
    if (!s.getAxes() || !matchPattern(s.getAxes(), m_Constant(&axes)))
      return "an eff.slice of tokens along axes that are not constant";
    for (const APInt &axis : axes.getValues<APInt>())
      if (tokens.at(s.getData(), axis.getSExtValue()))
        return "an eff.slice along the tokens";
    return "";
  }
  if (isa<ReduceMaxOp, ReduceMeanOp, ReduceSumOp>(op)) {
    // A reduced token dim no longer changes with the token count.
    if (tokens.count(op->getResult(0)) < tokens.count(op->getOperand(0)))
      return nameOf(op) + " reduces over the tokens";
    return "";
  }
  return nameOf(op) + " is not known to keep tokens apart";
}

/// Why the token count read by `shape` (eff.shape of a token dim) may reach
/// more than the shape operand of a reshape, expand or constant_of_shape,
/// or "". Shape arithmetic (small static integer tensors) is followed to
/// where it is used.
std::string tokenCountProblem(ShapeOp shape, const TokenDims &tokens) {
  auto in = dyn_cast<RankedTensorType>(shape.getData().getType());
  if (!in)
    return "eff.shape of an unranked value";
  int64_t start = int64_t(shape.getStart());
  int64_t end = shape.getEnd() ? int64_t(*shape.getEnd()) : in.getRank();
  start = start < 0 ? start + in.getRank() : start;
  end = end < 0 ? end + in.getRank() : std::min<int64_t>(end, in.getRank());
  bool readsTokens = false;
  for (int64_t d : tokens.of(shape.getData()))
    readsTokens |= d >= start && d < end;
  if (!readsTokens)
    return "";
  SmallVector<Value> work = {shape.getResult()};
  DenseSet<Value> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (!seen.insert(v).second)
      continue;
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if ((isa<ReshapeOp, ExpandOp>(user) && use.getOperandNumber() == 1) ||
          isa<ConstantOfShapeOp>(user))
        continue;
      bool shapeMath =
          user->getNumResults() > 0 && llvm::all_of(user->getResultTypes(), [](Type t) {
            auto r = dyn_cast<RankedTensorType>(t);
            return r && r.hasStaticShape() && r.getRank() <= 1 && r.getElementType().isInteger();
          });
      if (!shapeMath)
        return "the token count (eff.shape) reaches " + nameOf(user);
      for (Value r : user->getResults())
        work.push_back(r);
    }
  }
  return "";
}

struct PackedTokensPass : public mlir::eff::impl::PackedTokensBase<PackedTokensPass> {
  using PackedTokensBase::PackedTokensBase;

  func::FuncOp func;
  std::optional<TokenDims> tokens;

  int argNamed(StringRef name) {
    for (unsigned a = 0; a < func.getNumArguments(); ++a)
      if (effc::ioName(func.getArgAttrDict(a)) == name)
        return int(a);
    return -1;
  }

  /// Why the function cannot run packed tokens, or "".
  std::string problem() {
    int ids = argNamed("input_ids"), table = argNamed("block_table"), lens = argNamed("seq_lens");
    if (ids < 0 || table < 0 || lens < 0 || argNamed("slot_mapping") < 0)
      return "no input_ids, block_table, seq_lens and slot_mapping (a decoder paged by "
             "eff-paged-kv: effc --paged-kv)";
    auto idsType = cast<RankedTensorType>(func.getArgument(unsigned(ids)).getType());
    if (idsType.getRank() != 2 || idsType.isDynamicDim(0) || idsType.getDimSize(0) != 1)
      return "input_ids is not [1, seq] (compile with --dim batch=1: the packed tokens are its "
             "seq)";
    if (!idsType.isDynamicDim(1))
      return "input_ids' seq is fixed (a symbolic --dim seq=1..N is the run's token count)";
    if (argNamed("attention_mask") >= 0)
      return "attention_mask is still an input (packed tokens have no [batch, total] mask)";
    for (Value v : {func.getArgument(unsigned(table)), func.getArgument(unsigned(lens))})
      for (Operation *user : v.getUsers())
        if (!isa<PagedAttentionOp, PagedAttentionPartialOp>(user))
          return "block_table or seq_lens is read by " + nameOf(user);
    // swapTokens moves the [B, Hq, S, D] results' token dim: no out_perm yet
    // (eff-fold-attention-layout runs after this pass).
    WalkResult permuted = func.walk([](Operation *op) {
      return isa<PagedAttentionOp, AttentionCombineOp>(op) && op->hasAttr("out_perm")
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (permuted.wasInterrupted())
      return "an attention result is already stored permuted (out_perm)";
    // Which dims carry tokens: the shapes at two token counts in seq's bounds.
    StringRef seq;
    if (auto params = func.getArgAttrOfType<ArrayAttr>(unsigned(ids), "eff.dim_params"))
      if (params.size() == 2)
        if (auto name = dyn_cast<StringAttr>(params[1]))
          seq = name.getValue();
    auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
    auto bounds = dims && !seq.empty() ? dims.getAs<DenseI64ArrayAttr>(seq) : DenseI64ArrayAttr();
    if (!bounds || bounds.size() != 2)
      return "input_ids' seq has no bounds (--dim seq=MIN..MAX)";
    const int64_t lo = bounds[0], hi = bounds[1];
    int64_t t1 = std::clamp<int64_t>(3, lo, hi);
    if (t1 == hi)
      t1 = lo;
    if (t1 == hi)
      return "seq takes one value";
    TokenDims::Shapes probes[2];
    for (auto [k, t] : llvm::enumerate(std::array<int64_t, 2>{t1, hi})) {
      SmallVector<SmallVector<int64_t>> shapes;
      for (BlockArgument arg : func.getArguments()) {
        auto type = cast<RankedTensorType>(arg.getType());
        SmallVector<int64_t> shape(type.getShape());
        auto params = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "eff.dim_params");
        for (auto [d, extent] : llvm::enumerate(shape)) {
          if (!ShapedType::isDynamic(extent))
            continue;
          auto name = params && d < params.size() ? dyn_cast<StringAttr>(params[d]) : nullptr;
          if (!name || name.getValue() != seq)
            return ("input '" + effc::ioName(func.getArgAttrDict(arg.getArgNumber())) +
                    "' has a symbolic dim other than " + seq)
                .str();
          extent = t;
        }
        shapes.push_back(shape);
      }
      auto probe = probeShapes(func, shapes, (seq + "=" + Twine(t)).str());
      if (failed(probe))
        return ("its shapes do not probe at " + seq + "=" + Twine(t)).str();
      probes[k] = std::move(*probe);
    }
    tokens.emplace(std::move(probes[0]), std::move(probes[1]));
    std::string why;
    func.walk([&](Operation *op) {
      if (op == func.getOperation())
        return WalkResult::advance();
      why = mixesTokens(op, *tokens);
      if (why.empty())
        if (auto shape = dyn_cast<ShapeOp>(op))
          why = tokenCountProblem(shape, *tokens);
      if (!why.empty()) {
        std::string where;
        llvm::raw_string_ostream os(where);
        os << op->getLoc();
        why += " (at " + where + ")";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return why;
  }

  /// [1, Hq, T, D] <-> [T, Hq, 1, D].
  Value swapTokens(OpBuilder &b, Location loc, Value v) {
    return b.create<TransposeOp>(loc, v, b.getDenseI64ArrayAttr({2, 1, 0, 3}));
  }

  void runOnOperation() override {
    func = getOperation();
    auto remark = [&](Operation *op, const Twine &text) {
      if (remarks)
        op->emitRemark(text);
    };
    if (std::string why = problem(); !why.empty())
      return remark(func, "packed tokens: not converted: " + why);

    OpBuilder b(func.getContext());
    int layers = 0;
    SmallVector<Operation *> paged;
    func.walk([&](Operation *op) {
      if (isa<PagedAttentionOp, PagedAttentionPartialOp>(op))
        paged.push_back(op);
    });
    for (Operation *op : paged) {
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto a = dyn_cast<PagedAttentionOp>(op)) {
        Value q = swapTokens(b, loc, a.getQ());
        auto p = b.create<PagedAttentionOp>(loc, q.getType(), q, a.getKCache(), a.getVCache(),
                                            a.getBlockTable(), a.getSeqLens(), a.getScaleAttr(),
                                            a.getCausalAttr(), a.getWindowAttr(),
                                            /*out_perm=*/DenseI64ArrayAttr());
        a.getY().replaceAllUsesWith(swapTokens(b, loc, p.getY()));
        a.erase();
      } else {
        auto partial = cast<PagedAttentionPartialOp>(op);
        Value q = swapTokens(b, loc, partial.getQ());
        auto p = b.create<PagedAttentionPartialOp>(
            loc, q, partial.getKCache(), partial.getVCache(), partial.getBlockTable(),
            partial.getSeqLens(), partial.getScaleAttr(), partial.getCausalAttr(),
            partial.getNumSplitsAttr(), partial.getWindowAttr());
        // Each combine of the partials: over the token rows, then back.
        // (A combine reads both results: one entry per user.)
        llvm::SmallSetVector<Operation *, 2> users;
        for (Operation *user : partial->getUsers())
          users.insert(user);
        for (Operation *user : users) {
          auto combine = dyn_cast<AttentionCombineOp>(user);
          if (!combine || combine.getOPartial() != partial.getOPartial() ||
              combine.getLse() != partial.getLse()) {
            user->emitError("eff-packed-tokens: internal error: eff.paged_attention_partial is "
                            "read by something other than its eff.attention_combine");
            return signalPassFailure();
          }
          b.setInsertionPoint(combine);
          auto c = b.create<AttentionCombineOp>(
              combine.getLoc(), ValueRange{p.getOPartial(), p.getLse()},
              ArrayRef<NamedAttribute>{b.getNamedAttr("to", combine.getToAttr())});
          combine.getO().replaceAllUsesWith(swapTokens(b, combine.getLoc(), c.getO()));
          combine.erase();
        }
        partial.erase();
      }
      ++layers;
    }
    // Per token: token_seq_lens [T] (its position + 1) and token_seq [T], the
    // row of the per-sequence block_table [seqs, max_pages] that holds its
    // pages; the model gathers each token's row (on the device: only
    // seqs x max_pages entries come in). seqs is a new dim, 1..T's bound.
    unsigned ids = unsigned(argNamed("input_ids"));
    auto idsType = cast<RankedTensorType>(func.getArgument(ids).getType());
    Attribute seqParam = b.getStringAttr("");
    if (auto params = func.getArgAttrOfType<ArrayAttr>(ids, "eff.dim_params"))
      if (params.size() == 2)
        seqParam = params[1];
    auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims");
    std::string seqs = "seqs";
    while (dims.get(seqs))
      seqs += "_";
    SmallVector<NamedAttribute> dimList(dims.getValue());
    auto seqBounds = dims.getAs<DenseI64ArrayAttr>(cast<StringAttr>(seqParam).getValue());
    dimList.push_back(b.getNamedAttr(seqs, b.getDenseI64ArrayAttr({1, seqBounds.asArrayRef()[1]})));
    func->setAttr("eff.dims", b.getDictionaryAttr(dimList));
    auto named = [&](StringRef name, ArrayRef<Attribute> params) {
      return b.getDictionaryAttr({b.getNamedAttr("eff.name", b.getStringAttr(name)),
                                  b.getNamedAttr("eff.dim_params", b.getArrayAttr(params))});
    };
    BlockArgument lens = func.getArgument(unsigned(argNamed("seq_lens")));
    Type i32 = cast<RankedTensorType>(lens.getType()).getElementType();
    lens.setType(RankedTensorType::get({idsType.getDimSize(1)}, i32));
    func.setArgAttrs(lens.getArgNumber(), named("token_seq_lens", {seqParam}));
    BlockArgument table = func.getArgument(unsigned(argNamed("block_table")));
    auto tableType = cast<RankedTensorType>(table.getType());
    const int64_t maxPages = tableType.getDimSize(1);
    table.setType(
        RankedTensorType::get({ShapedType::kDynamic, maxPages}, tableType.getElementType()));
    func.setArgAttrs(table.getArgNumber(),
                     named("block_table", {b.getStringAttr(seqs), b.getStringAttr("")}));
    unsigned n = func.getNumArguments();
    (void)func.insertArgument(n, RankedTensorType::get({idsType.getDimSize(1)}, i32),
                              named("token_seq", {seqParam}), func.getLoc());
    b.setInsertionPointToStart(&func.getBody().front());
    Value perToken =
        b.create<GatherOp>(func.getLoc(), table, func.getArgument(n), b.getI64IntegerAttr(0));
    table.replaceAllUsesExcept(perToken, perToken.getDefiningOp());
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    func.setFunctionType(FunctionType::get(func.getContext(), func.getBody().getArgumentTypes(),
                                           ret.getOperandTypes()));
    remark(func, llvm::formatv("packed tokens: input_ids [1, T] holds the new tokens of many "
                               "sequences back to back; {0} paged attentions run one query row "
                               "per token through its sequence's row of block_table [{2}, {1}] "
                               "(token_seq [T]) and token_seq_lens [T]; no other op mixes tokens",
                               layers, maxPages, seqs)
                     .str());
  }
};

} // namespace
