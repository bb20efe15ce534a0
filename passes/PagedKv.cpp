//===- PagedKv.cpp - kv_append + attention -> a paged KV cache pool -------===//
//
// What eff-kv-cache-inplace leaves of a decoder with past (each layer's
// eff.kv_append of the new keys and values to past_key_values.{i}.*, read by
// eff.attention through repeat_kv views and returned as present.{i}.*)
// becomes a model over a paged KV cache (issue 19 part 1): each past input
// is retyped into that cache's page pool kv_pages.{i}.* [pages, Hkv,
// page_size, D], eff.paged_kv_write stores the new rows into their pages
// (returned as kv_pages_out.{i}.*, the pool the next run takes) and
// eff.paged_attention reads the pool through a block table. Three int32
// inputs drive it: block_table [B, max_pages], seq_lens [B] (positions held
// after this run) and slot_mapping [B, S] (pool slot of each new row, -1 for
// a padded one). Queries are the last S positions of their row, so a caller
// left-pads shorter feeds. The attention mask (from attention_mask) dies:
// seq_lens, causal and window say what it said (PagedKvMask.h checks that
// it is exactly causal + padding, possibly with a sliding window, which
// becomes the paged op's `window` with the attention's own; any other
// restriction keeps the model unpaged), and attention_mask goes when nothing
// else reads it.
// All layers convert or none do.
//
#include "dialects/eff/EffOps.h"
#include "dialects/eff/IoName.h"
#include "passes/DimBounds.h"
#include "passes/PagedKvMask.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_PAGEDKV
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr StringLiteral kPastPrefix = "past_key_values.";

bool isView(Operation *op) { return isa<ReshapeOp, ExpandOp, UnsqueezeOp, TransposeOp>(op); }

/// The eff.kv_append `v` is a view of (through at most 8 repeat_kv / K^T
/// round-trip views), or null.
KvAppendOp appendOf(Value v) {
  for (int hops = 0; hops <= 8; ++hops) {
    Operation *def = v.getDefiningOp();
    if (!def)
      return {};
    if (auto append = dyn_cast<KvAppendOp>(def))
      return append;
    if (!isView(def))
      return {};
    v = def->getOperand(0);
  }
  return {};
}

/// One layer's attention over its two appends.
struct Layer {
  AttentionOp attention;
  KvAppendOp key, value;
};

struct PagedKvPass : public mlir::eff::impl::PagedKvBase<PagedKvPass> {
  using PagedKvBase::PagedKvBase;

  func::FuncOp func;
  /// Ops that die when the attentions go (their masks, shape reads of the
  /// caches): readers of the caches that need not stay.
  DenseSet<Operation *> dying;
  /// Per mask value: why it is not causal + padding (+ a sliding window)
  /// ("" if it is), at how many probe points it was compared and its window
  /// (0: none).
  struct MaskCheck {
    std::string problem;
    int probes = 0;
    int64_t window = 0;
  };
  DenseMap<Value, MaskCheck> maskChecks;

  void findDying(ArrayRef<Layer> layers) {
    dying.clear();
    for (Layer layer : layers)
      dying.insert(layer.attention.getOperation());
    for (Operation &op : llvm::reverse(func.getBody().front()))
      if (!dying.contains(&op) && wouldOpBeTriviallyDead(&op) &&
          llvm::all_of(op.getUsers(), [&](Operation *user) { return dying.contains(user); }))
        dying.insert(&op);
  }

  int argNamed(StringRef name) {
    for (unsigned a = 0; a < func.getNumArguments(); ++a)
      if (effc::ioName(func.getArgAttrDict(a)) == name)
        return int(a);
    return -1;
  }

  /// Why `append`'s value is read by something other than `attention` (via
  /// views) and its present output, or "".
  std::string otherReaders(KvAppendOp append, AttentionOp attention) {
    SmallVector<Value> work = {append.getPresent()};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (user == attention.getOperation() &&
            (use.getOperandNumber() == 1 || use.getOperandNumber() == 2))
          continue;
        if (isa<func::ReturnOp>(user)) {
          if (v != append.getPresent() ||
              effc::ioName(func.getResultAttrDict(use.getOperandNumber())) != append.getState())
            return "a view of the cache is returned";
          continue;
        }
        if (dying.contains(user))
          continue;
        if (isView(user)) {
          work.push_back(user->getResult(0));
          continue;
        }
        return ("the cache is also read by " + user->getName().getStringRef()).str();
      }
    }
    return "";
  }

  /// Why the mask cannot be replaced by seq_lens + causal, or "": it must be
  /// computed (from constants and shapes) out of attention_mask alone, the
  /// padding and causal mask of a decoder with past.
  std::string maskProblem(Value mask) {
    SmallVector<Value> work = {mask};
    DenseSet<Value> seen;
    bool fromAttentionMask = false;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!seen.insert(v).second)
        continue;
      if (auto arg = dyn_cast<BlockArgument>(v)) {
        StringRef name = effc::ioName(func.getArgAttrDict(arg.getArgNumber()));
        if (name == "attention_mask")
          fromAttentionMask = true;
        else if (!name.starts_with(kPastPrefix) && name != "input_ids" && name != "position_ids")
          return ("the mask reads the input '" + name + "'").str();
        continue;
      }
      Operation *def = v.getDefiningOp();
      if (isa<AttentionOp, KvAppendOp>(def))
        return ("the mask is computed from an " + def->getName().getStringRef()).str();
      for (Value operand : def->getOperands())
        work.push_back(operand);
    }
    if (!fromAttentionMask)
      return "the mask is not computed from the input attention_mask";
    // What it computes: exactly causal + padding, at probe points.
    auto [it, inserted] = maskChecks.try_emplace(mask);
    if (inserted)
      it->second.problem = pagedMaskProblem(func, mask, it->second.probes, it->second.window);
    return it->second.problem;
  }

  /// Why `layer` cannot be paged, or "".
  std::string problem(Layer layer) {
    AttentionOp a = layer.attention;
    if (!layer.key || !layer.value)
      return std::string("its ") + (layer.key ? "values" : "keys") +
             " are not an eff.kv_append's (run eff-kv-cache-inplace first)";
    if (a.getSoftcap().convertToFloat() != 0 || a.getAlibiSlopes() || a.getSinks())
      return "it has a soft-cap, ALiBi or sinks (eff.paged_attention has none)";
    if (a.getWindow() != 0 && !a.getCausal() && !a.getMask())
      return "it has a sliding window without causal masking (eff.paged_attention's window "
             "counts back from a causal query)";
    for (KvAppendOp append : {layer.key, layer.value}) {
      auto arg = dyn_cast<BlockArgument>(append.getPast());
      if (!arg || !arg.getOwner()->isEntryBlock() ||
          !effc::ioName(func.getArgAttrDict(arg.getArgNumber())).starts_with(kPastPrefix))
        return "the cache's past is not a function input past_key_values.{i}.*";
      for (Operation *user : arg.getUsers())
        if (user != append.getOperation() && !dying.contains(user))
          return ("the past input '" + effc::ioName(func.getArgAttrDict(arg.getArgNumber())) +
                  "' is also read by " + user->getName().getStringRef())
              .str();
      auto type = cast<RankedTensorType>(append.getPast().getType());
      if (type.isDynamicDim(1) || type.isDynamicDim(3))
        return "the cache's heads and head dim must be static";
      if (std::string why = otherReaders(append, a); !why.empty())
        return why;
    }
    if (Value mask = a.getMask())
      if (std::string why = maskProblem(mask); !why.empty())
        return why;
    auto k = cast<RankedTensorType>(layer.key.getPast().getType());
    auto q = cast<RankedTensorType>(a.getQ().getType());
    if (k != cast<RankedTensorType>(layer.value.getPast().getType()))
      return "keys and values have different cache shapes";
    if ((!q.isDynamicDim(1) && q.getDimSize(1) % k.getDimSize(1) != 0) ||
        (!q.isDynamicDim(3) && q.getDimSize(3) != k.getDimSize(3)))
      return "the queries' heads or head dim do not fit the cache's";
    return "";
  }

  /// Why the value of `shape` (eff.shape of attention_mask's dim 1, the
  /// total length) matters for more than the size of tables read at
  /// position_ids, or "": a position table (RoPE's cos/sin of range(total),
  /// as eff-kv-cache builds it) gathered at position_ids reads the same
  /// entries whatever its length beyond them. The total may only reach a
  /// range's limit (through squeeze/unsqueeze/cast); what a range gives may
  /// only pass through position-wise ops (elementwise with operands not
  /// derived from it, unsqueeze/squeeze, concat along a static axis) into
  /// the data operand of an eff.gather along a dynamic axis at position_ids.
  std::string totalSizesOnlyTables(ShapeOp shape, Value positions) {
    if (shape.getStart() != 1 || !shape.getEnd() || *shape.getEnd() != 2)
      return "it reads more of attention_mask's shape than its length";
    DenseSet<Value> derived;
    SmallVector<std::pair<Value, bool>> work = {{shape.getResult(), false}}; // (value, table?)
    derived.insert(shape.getResult());
    auto name = [](Operation *op) { return op->getName().getStringRef().str(); };
    while (!work.empty()) {
      auto [v, table] = work.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        bool next = table;
        if (isa<SqueezeOp, UnsqueezeOp, CastOp>(user) && use.getOperandNumber() == 0) {
        } else if (!table) {
          if (!isa<RangeOp>(user) || use.getOperandNumber() != 1)
            return "the length reaches " + name(user) + " (not a range's limit)";
          next = true;
        } else if (auto gather = dyn_cast<GatherOp>(user)) {
          auto type = cast<RankedTensorType>(gather.getData().getType());
          int64_t axis = int64_t(gather.getAxis());
          axis = axis < 0 ? axis + type.getRank() : axis;
          if (use.getOperandNumber() != 0 || gather.getIndices() != positions || axis < 0 ||
              axis >= type.getRank() || !type.isDynamicDim(axis))
            return "a table of that length reaches an eff.gather that is not at position_ids "
                   "along its length";
          continue; // its entries do not depend on the table's length
        } else if (isa<CosOp, SinOp, NegOp>(user)) {
        } else if (isa<MulOp, AddOp, SubOp, DivOp>(user)) {
          for (Value operand : user->getOperands())
            if (operand != v && derived.contains(operand))
              return "two values derived from the length meet in " + name(user);
        } else if (auto concat = dyn_cast<ConcatOp>(user)) {
          auto type = cast<RankedTensorType>(concat.getType());
          int64_t axis = int64_t(concat.getAxis());
          axis = axis < 0 ? axis + type.getRank() : axis;
          if (axis < 0 || axis >= type.getRank() || type.isDynamicDim(axis)) {
            std::string text;
            llvm::raw_string_ostream os(text);
            os << "a table of that length is concatenated along a dynamic axis ("
               << concat.getType() << ", axis " << int64_t(concat.getAxis()) << ")";
            return text;
          }
        } else {
          return "a table of that length reaches " + name(user);
        }
        for (Value r : user->getResults())
          if (derived.insert(r).second)
            work.push_back({r, next});
      }
    }
    return "";
  }

  /// The sliding window of `a` once its mask is proved: the narrower of its
  /// own and its mask's (0: none).
  int64_t windowOf(AttentionOp a) {
    int64_t own = int64_t(a.getWindow());
    int64_t fromMask = a.getMask() ? maskChecks.lookup(a.getMask()).window : 0;
    if (own > 0 && fromMask > 0)
      return std::min(own, fromMask);
    return std::max(own, fromMask);
  }

  /// The eff.dim_params name of argument `arg`'s dim `d` ("" if none).
  StringRef dimParam(unsigned arg, unsigned d) {
    if (auto params = func.getArgAttrOfType<ArrayAttr>(arg, "eff.dim_params"))
      if (d < params.size())
        if (auto s = dyn_cast<StringAttr>(params[d]))
          return s.getValue();
    return "";
  }

  /// The eff.dim_params of a new input: per dim, the entry of (argument,
  /// dim) (argument -1: a static dim, "").
  Attribute dimParams(ArrayRef<std::pair<int, unsigned>> dims) {
    SmallVector<Attribute> names;
    Builder b(func.getContext());
    for (auto [arg, d] : dims)
      names.push_back(b.getStringAttr(arg >= 0 ? dimParam(unsigned(arg), d) : StringRef()));
    return b.getArrayAttr(names);
  }

  /// An exporter may read the batch off a past input (eff.shape of its dim
  /// 0, a symbolic batch: Llama's attention reshapes); input_ids has the
  /// same dim when both name it alike in eff.dim_params (one dim, bound once
  /// per run; eff.kv_append needs the rows' batch anyway), so such reads
  /// take it from input_ids and the past input is left to its append.
  void batchShapesFromInputIds() {
    int ids = argNamed("input_ids");
    if (ids < 0 || dimParam(unsigned(ids), 0).empty())
      return;
    for (BlockArgument arg : func.getArguments()) {
      if (!effc::ioName(func.getArgAttrDict(arg.getArgNumber())).starts_with(kPastPrefix) ||
          dimParam(arg.getArgNumber(), 0) != dimParam(unsigned(ids), 0))
        continue;
      for (Operation *user : llvm::make_early_inc_range(arg.getUsers()))
        if (auto shape = dyn_cast<ShapeOp>(user))
          if (shape.getStart() == 0 && shape.getEnd() && *shape.getEnd() == 1)
            shape->setOperand(0, func.getArgument(unsigned(ids)));
    }
  }

  void runOnOperation() override {
    func = getOperation();
    maskChecks.clear();
    SmallVector<Layer> layers;
    func.walk([&](AttentionOp a) {
      Layer layer{a, appendOf(a.getK()), appendOf(a.getV())};
      if (layer.key || layer.value)
        layers.push_back(layer);
    });
    auto remark = [&](Operation *op, const Twine &text) {
      if (remarks)
        op->emitRemark(text);
    };
    if (layers.empty())
      return remark(func, "paged KV: not converted: no eff.attention reads an eff.kv_append "
                          "(a decoder with past after eff-kv-cache-inplace)");
    batchShapesFromInputIds();
    findDying(layers);
    bool ok = true;
    for (auto [i, layer] : llvm::enumerate(layers))
      if (std::string why = problem(layer); !why.empty()) {
        remark(layer.attention,
               llvm::formatv("paged KV: attention {0} not converted: {1}", i, why).str());
        ok = false;
      }
    if (!ok)
      return remark(func, "paged KV: no layer converted (all or none: one pool layout per model)");

    // The run's batch and new-row dims come from input_ids [B, S].
    int ids = argNamed("input_ids");
    if (ids < 0)
      return remark(func, "paged KV: not converted: no input_ids input (its [batch, seq] dims "
                          "name the new inputs')");
    auto rows = cast<RankedTensorType>(layers[0].key.getNewRows().getType());
    std::optional<int64_t> batch = argDimMax(func, unsigned(ids), 0);
    if (!batch && poolPages == 0)
      return remark(func, "paged KV: not converted: the batch has no upper bound (--dim "
                          "batch=N, or give pool-pages)");
    int64_t capacity = 0;
    for (Layer layer : layers)
      capacity = std::max(
          {capacity, int64_t(layer.key.getCapacity()), int64_t(layer.value.getCapacity())});
    const int64_t maxPages = (capacity + pageSize - 1) / pageSize;
    const int64_t pages = poolPages > 0 ? int64_t(poolPages) : *batch * maxPages;

    OpBuilder b(func.getContext());
    Location loc = func.getLoc();
    Type i32 = b.getI32Type();
    int64_t B = rows.getDimSize(0), S = rows.getDimSize(2);
    auto addInput = [&](StringRef name, ArrayRef<int64_t> shape, Attribute params) {
      unsigned n = func.getNumArguments();
      SmallVector<NamedAttribute> attrs = {b.getNamedAttr("eff.name", b.getStringAttr(name)),
                                           b.getNamedAttr("eff.dim_params", params)};
      (void)func.insertArgument(n, RankedTensorType::get(shape, i32), b.getDictionaryAttr(attrs),
                                loc);
      return func.getArgument(n);
    };
    Value table = addInput("block_table", {B, maxPages}, dimParams({{ids, 0}, {-1, 0}}));
    Value lens = addInput("seq_lens", {B}, dimParams({{ids, 0}}));
    Value slots = addInput("slot_mapping", {B, S}, dimParams({{ids, 0}, {ids, 1}}));

    for (auto [i, layer] : llvm::enumerate(layers)) {
      Value written[2];
      for (auto [j, append] : llvm::enumerate(std::array<KvAppendOp, 2>{layer.key, layer.value})) {
        auto arg = cast<BlockArgument>(append.getPast());
        auto past = cast<RankedTensorType>(arg.getType());
        std::string suffix = effc::ioName(func.getArgAttrDict(arg.getArgNumber()))
                                 .drop_front(kPastPrefix.size())
                                 .str();
        auto pool = RankedTensorType::get({pages, past.getDimSize(1), pageSize, past.getDimSize(3)},
                                          past.getElementType());
        arg.setType(pool);
        func.setArgAttrs(arg.getArgNumber(),
                         b.getDictionaryAttr(
                             {b.getNamedAttr("eff.name", b.getStringAttr("kv_pages." + suffix))}));
        b.setInsertionPoint(append);
        auto write =
            b.create<PagedKvWriteOp>(append.getLoc(), pool, arg, append.getNewRows(), slots);
        written[j] = write.getPresent();
        for (OpOperand &use : llvm::make_early_inc_range(append.getPresent().getUses()))
          if (isa<func::ReturnOp>(use.getOwner())) {
            unsigned r = use.getOperandNumber();
            use.set(write.getPresent());
            func.setResultAttrs(r, b.getDictionaryAttr({b.getNamedAttr(
                                       "eff.name", b.getStringAttr("kv_pages_out." + suffix))}));
          }
      }
      AttentionOp a = layer.attention;
      b.setInsertionPoint(a);
      const bool causal = a.getCausal() || a.getMask();
      const int64_t window = windowOf(a);
      // No attribute for no window (the default).
      IntegerAttr windowAttr = window > 0 ? b.getI64IntegerAttr(window) : IntegerAttr();
      Value y;
      if (splits > 0) { // split-KV: chunks of whole pages, then the combine
        auto partial = b.create<PagedAttentionPartialOp>(
            a.getLoc(), a.getQ(), written[0], written[1], table, lens, a.getScaleAttr(),
            b.getI64IntegerAttr(causal ? 1 : 0), b.getI64IntegerAttr(splits), windowAttr);
        auto elementType = cast<RankedTensorType>(a.getType()).getElementType();
        // The combine writes the result, so it takes a's out_perm (if any).
        SmallVector<NamedAttribute> attrs = {
            b.getNamedAttr("to", b.getI64IntegerAttr(int64_t(toDType(elementType))))};
        if (a.getOutPermAttr())
          attrs.push_back(b.getNamedAttr("out_perm", a.getOutPermAttr()));
        y = b.create<AttentionCombineOp>(a.getLoc(),
                                         ValueRange{partial.getOPartial(), partial.getLse()}, attrs)
                .getResult();
      } else {
        auto paged = b.create<PagedAttentionOp>(
            a.getLoc(), a.getType(), a.getQ(), written[0], written[1], table, lens,
            a.getScaleAttr(), b.getI64IntegerAttr(causal ? 1 : 0), windowAttr, a.getOutPermAttr());
        y = paged.getY();
      }
      const MaskCheck check = a.getMask() ? maskChecks.lookup(a.getMask()) : MaskCheck();
      remark(a,
             llvm::formatv(
                 "paged KV: attention {0} reads '{1}' and '{2}' through the block "
                 "table ({3} pages of {4} positions, {5} per sequence){6}{7}{8}",
                 i, layer.key.getState(), layer.value.getState(), pages, int64_t(pageSize),
                 maxPages,
                 splits > 0 ? llvm::formatv(", in {0} splits of whole pages", int64_t(splits)).str()
                            : std::string(),
                 window > 0 ? llvm::formatv(", sliding window of {0} positions", window).str()
                            : std::string(),
                 !a.getMask() ? std::string()
                 : check.window > 0
                     ? llvm::formatv("; its mask is replaced by seq_lens, causal and the window "
                                     "(equal to causal + padding + a sliding window of {0} "
                                     "positions at {1} probes of (past, seq))",
                                     check.window, check.probes)
                           .str()
                     : llvm::formatv("; its mask is replaced by seq_lens and causal "
                                     "(equal to causal + padding at {0} probes of "
                                     "(past, seq))",
                                     check.probes)
                           .str())
                 .str());
      a.replaceAllUsesWith(y);
      a.erase();
    }
    // The function type follows its retyped arguments and results.
    auto ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    func.setFunctionType(FunctionType::get(func.getContext(), func.getBody().getArgumentTypes(),
                                           ret.getOperandTypes()));
    // The appends, views and mask computations are dead now.
    for (bool erased = true; erased;) {
      erased = false;
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(func.getBody().front())))
        if (isOpTriviallyDead(&op)) {
          op.erase();
          erased = true;
        }
    }
    // What findDying promised: the pools are read by their writes alone.
    for (unsigned a = 0; a < func.getNumArguments(); ++a)
      if (effc::ioName(func.getArgAttrDict(a)).starts_with("kv_pages."))
        for (Operation *user : func.getArgument(a).getUsers())
          if (!isa<PagedKvWriteOp>(user)) {
            user->emitError("eff-paged-kv: internal error: this op still reads the pool '")
                << effc::ioName(func.getArgAttrDict(a)) << "'";
            return signalPassFailure();
          }
    int mask = argNamed("attention_mask");
    // Its length may still size position tables (eff-kv-cache's RoPE over
    // range(total), Gemma 3): its bound sizes them instead (positions stay
    // below it), so nothing needs attention_mask.
    int positions = argNamed("position_ids");
    if (mask >= 0 && positions >= 0) {
      Value am = func.getArgument(unsigned(mask));
      std::optional<int64_t> bound = argDimMax(func, unsigned(mask), 1);
      SmallVector<ShapeOp> shapes;
      std::string why;
      for (Operation *user : am.getUsers()) {
        auto shape = dyn_cast<ShapeOp>(user);
        if (!shape) {
          why = ("it is read by " + user->getName().getStringRef()).str();
          break;
        }
        why = totalSizesOnlyTables(shape, func.getArgument(unsigned(positions)));
        if (!why.empty())
          break;
        shapes.push_back(shape);
      }
      if (!am.use_empty() && why.empty() && !bound)
        why = "its length has no upper bound";
      if (!am.use_empty() && why.empty()) {
        for (ShapeOp shape : shapes) {
          b.setInsertionPoint(shape);
          auto type = cast<RankedTensorType>(shape.getType());
          shape.replaceAllUsesWith(
              b.create<ConstantOp>(shape.getLoc(), type,
                                   DenseElementsAttr::get(type, ArrayRef<int64_t>{*bound}))
                  .getResult());
          shape.erase();
        }
        remark(func, llvm::formatv("paged KV: attention_mask's length only sized tables read at "
                                   "position_ids: they are {0} positions long (its bound) and "
                                   "the input goes",
                                   *bound)
                         .str());
      } else if (!am.use_empty()) {
        remark(func, "paged KV: attention_mask stays an input: " + why);
      }
    }
    if (mask >= 0 && func.getArgument(unsigned(mask)).use_empty())
      (void)func.eraseArgument(unsigned(mask));
    // Dims no input names any more leave eff.dims (nothing binds them).
    if (auto dims = func->getAttrOfType<DictionaryAttr>("eff.dims")) {
      llvm::SmallSetVector<StringRef, 4> named;
      for (unsigned a = 0; a < func.getNumArguments(); ++a)
        if (auto params = func.getArgAttrOfType<ArrayAttr>(a, "eff.dim_params"))
          for (Attribute p : params)
            if (auto s = dyn_cast<StringAttr>(p))
              named.insert(s.getValue());
      SmallVector<NamedAttribute> kept;
      for (NamedAttribute d : dims)
        if (named.contains(d.getName().getValue()))
          kept.push_back(d);
      func->setAttr("eff.dims", b.getDictionaryAttr(kept));
    }
  }
};

} // namespace
