//===- MergeSiblingLinears.cpp - sibling linears as one GEMM --------------===//
//
// Linear layers that read the same activation with constant weights of one
// K (a decoder's q/k/v projections) run as one GEMM over the weights
// concatenated along N (vLLM's QKVParallelLinear): one launch instead of
// one per projection, and at decode a grid the narrow k/v GEMMs alone would
// not fill. Each original result is a constant eff.slice of the merged one;
// where a projection's readers only split its last dim into heads
// ([..., N] -> [..., H, D], the attention's reshape) the slice moves below
// that reshape and takes whole heads, so the elementwise kernels that read
// the heads (RoPE) take it in (eff-fuse-elementwise's index-mapping
// producers). What was merged and what was not says why under `remarks`
// (Passes.td).
//
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/I64Constant.h"
#include "dialects/eff/ModulePath.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace mlir::eff {
#define GEN_PASS_DEF_MERGESIBLINGLINEARS
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

/// A linear layer the pass may merge: x times a constant [K, N] weight,
/// optionally followed by the add of a constant [N] bias.
/// (Op handles are not const-correct: mutable.)
struct Member {
  mutable MatMulOp mm;
  mutable ConstantOp weight;
  mutable AddOp biasAdd;   // null: no bias
  mutable ConstantOp bias; // the [N] (or [1, ..., N]) constant of biasAdd
  int64_t N = 0;
  int64_t offset = 0; // first column in the merged GEMM
  /// The value the merge replaces: the bias add's result, else the matmul's.
  Value result() const { return biasAdd ? biasAdd.getResult() : mm.getResult(); }
};

/// How `op` is named in remarks: its module path (q_proj), else its name.
std::string nameOf(Operation *op) {
  if (std::optional<std::string> path = effc::getModulePath(op->getLoc()); path && !path->empty())
    return *path;
  return op->getName().getStringRef().str();
}

/// The constant bias `add` adds to `mm`'s result ([N] or [1, ..., 1, N]), or
/// null.
ConstantOp biasOf(AddOp add, Value mmResult, int64_t N) {
  Value other = add.getOperand(0) == mmResult ? add.getOperand(1) : add.getOperand(0);
  auto c = other.getDefiningOp<ConstantOp>();
  auto type = c ? dyn_cast<RankedTensorType>(c.getType()) : RankedTensorType();
  if (!type || !type.hasStaticShape() || type.getRank() == 0 ||
      type.getDimSize(type.getRank() - 1) != N || type.getNumElements() != N ||
      add.getResult().getType() != mmResult.getType())
    return {};
  return c;
}

/// Why `mm` cannot be merged with a sibling, or "".
std::string whyNotMergeable(MatMulOp mm) {
  if (mm->hasAttr("eff.device"))
    return "it is placed on a device (eff.device)";
  if (mm.getTransB() != 0)
    return "its weight is stored [N, K] (transB = 1)";
  auto w = mm.getB().getDefiningOp<ConstantOp>();
  if (!w)
    return "its weight is not a constant";
  auto wt = dyn_cast<RankedTensorType>(w.getType());
  if (!wt || wt.getRank() != 2 || !wt.hasStaticShape())
    return "its weight is not a static 2-D constant";
  auto at = dyn_cast<RankedTensorType>(mm.getA().getType());
  auto yt = dyn_cast<RankedTensorType>(mm.getY().getType());
  if (!at || at.getRank() < 2 || !yt || yt.getRank() != at.getRank())
    return "its activation is not a tensor [..., K] of rank 2 or more";
  if (auto dense = dyn_cast<DenseElementsAttr>(w.getValue()); !(dense && dense.isSplat())) {
    std::vector<char> bytes;
    if (!getElementsBytes(w.getValue(), bytes))
      return "the data of its weight is not available (elided?)";
  }
  return "";
}

struct MergeSiblingLinears : public eff::impl::MergeSiblingLinearsBase<MergeSiblingLinears> {
  using MergeSiblingLinearsBase::MergeSiblingLinearsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Linear layers by activation, in program order.
    llvm::MapVector<Value, SmallVector<Operation *>> readers;
    func.walk([&](Operation *op) {
      if (isa<MatMulOp, LoRALinearOp, QuantLinearOp>(op) && op->getNumOperands() > 0)
        readers[op->getOperand(0)].push_back(op);
    });
    for (auto &[x, ops] : readers) {
      SmallVector<MatMulOp> mergeable;
      for (Operation *op : ops) {
        auto mm = dyn_cast<MatMulOp>(op);
        if (!mm) {
          if (ops.size() > 1)
            remark(op,
                   "not merged with the linears beside it: " + op->getName().getStringRef().str() +
                       " keeps its own kernel (its adapter or packed weight is not a plain "
                       "constant [K, N])");
          continue;
        }
        if (std::string why = whyNotMergeable(mm); !why.empty()) {
          if (ops.size() > 1)
            remark(op, "not merged with the linears beside it: " + why);
          continue;
        }
        mergeable.push_back(mm);
      }
      // Siblings of one K, weight type and result type merge together.
      while (!mergeable.empty()) {
        MatMulOp first = mergeable.front();
        auto key = [&](MatMulOp mm) {
          auto wt = cast<RankedTensorType>(mm.getB().getType());
          auto yt = cast<RankedTensorType>(mm.getY().getType());
          auto ft = cast<RankedTensorType>(first.getB().getType());
          auto fyt = cast<RankedTensorType>(first.getY().getType());
          return mm->getBlock() == first->getBlock() && wt.getDimSize(0) == ft.getDimSize(0) &&
                 wt.getElementType() == ft.getElementType() &&
                 yt.getElementType() == fyt.getElementType() &&
                 yt.getShape().drop_back() == fyt.getShape().drop_back();
        };
        SmallVector<MatMulOp> group, rest;
        for (MatMulOp mm : mergeable)
          (key(mm) ? group : rest).push_back(mm);
        mergeable = std::move(rest);
        if (group.size() < 2) {
          if (ops.size() > 1)
            remark(group.front(), "not merged: no other linear reading the same activation has "
                                  "a constant weight of the same K and element type");
          continue;
        }
        if (failed(merge(func, group)))
          return signalPassFailure();
      }
    }
  }

  void remark(Operation *op, const Twine &text) {
    if (remarks)
      op->emitRemark() << "eff-merge-sibling-linears: " << text;
  }

  /// Whether a slice producing `v` would cost no kernel of its own: each
  /// reader is elementwise (eff-fuse-elementwise takes the slice in), an
  /// index-mapping op (transpose/slice/concat) whose readers are such in
  /// turn (a few levels: RoPE's rotate_half), or the new rows of a KV cache
  /// append, directly or through a transpose read only by it
  /// (eff-fold-attention-layout folds both into the append).
  static bool absorbed(Value v, int depth = 0) {
    return !v.use_empty() && llvm::all_of(v.getUses(), [&](OpOperand &use) {
      Operation *user = use.getOwner();
      if (isFusibleElementwise(user))
        return true;
      if (isa<KvAppendOp>(user) && use.getOperandNumber() == 1)
        return true;
      if (auto t = dyn_cast<TransposeOp>(user); t && t->hasOneUse()) {
        OpOperand &next = *t->getUses().begin();
        if (isa<KvAppendOp>(next.getOwner()) && next.getOperandNumber() == 1)
          return true;
      }
      return depth < 4 && isa<TransposeOp, SliceOp, ConcatOp>(user) &&
             absorbed(user->getResult(0), depth + 1);
    });
  }

  /// Whether `m`'s slice would be absorbed: its result's, or (when its
  /// readers split the columns into heads) each reshape's readers.
  static bool memberAbsorbed(const Member &m) {
    Value r = m.result();
    if (!r.use_empty() &&
        llvm::all_of(r.getUsers(), [](Operation *u) { return isa<ReshapeOp>(u); }))
      return llvm::all_of(r.getUsers(), [](Operation *u) { return absorbed(u->getResult(0)); });
    return absorbed(r);
  }

  /// Two members whose results meet in an elementwise op within a few
  /// steps (a gated MLP's silu(gate) * up): eff-fuse-gemm-epilogue puts that
  /// product into the second GEMM's epilogue, a launch the merge would not
  /// save. Returns the pair's names, or "".
  static std::string gatedPair(ArrayRef<Member> members) {
    SmallVector<llvm::SmallPtrSet<Operation *, 16>> reach(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
      SmallVector<std::pair<Value, int>> work{{members[i].result(), 0}};
      while (!work.empty()) {
        auto [v, depth] = work.pop_back_val();
        for (Operation *user : v.getUsers())
          if (isFusibleElementwise(user) && reach[i].insert(user).second && depth < 4)
            work.push_back({user->getResult(0), depth + 1});
      }
    }
    for (size_t i = 0; i < members.size(); ++i)
      for (size_t j = i + 1; j < members.size(); ++j)
        for (Operation *op : reach[i])
          if (reach[j].contains(op))
            return nameOf(members[i].mm) + " and " + nameOf(members[j].mm);
    return "";
  }

  LogicalResult merge(func::FuncOp func, ArrayRef<MatMulOp> group) {
    SmallVector<Member> members;
    int64_t Ntot = 0;
    bool anyBias = false;
    for (MatMulOp mm : group) {
      Member m;
      m.mm = mm;
      m.weight = mm.getB().getDefiningOp<ConstantOp>();
      m.N = cast<RankedTensorType>(m.weight.getType()).getDimSize(1);
      if (mm->hasOneUse())
        if (auto add = dyn_cast<AddOp>(*mm->getUsers().begin()); add && !add->hasAttr("eff.device"))
          if (ConstantOp bias = biasOf(add, mm.getResult(), m.N)) {
            m.biasAdd = add;
            m.bias = bias;
          }
      anyBias |= bool(m.bias);
      m.offset = Ntot;
      Ntot += m.N;
      members.push_back(m);
    }
    // A member whose slice would be a kernel of its own keeps its GEMM
    // (the launch it saves, it would spend).
    llvm::erase_if(members, [&](Member &m) {
      if (memberAbsorbed(m))
        return false;
      remark(m.mm, "not merged with the linears beside it: its columns would be read through a "
                   "slice kernel of their own (a reader that no elementwise kernel or KV cache "
                   "append takes a slice into)");
      return true;
    });
    if (members.size() < 2) {
      for (Member &m : members)
        remark(m.mm, "not merged: no other linear reading the same activation would have its "
                     "slice taken into its readers");
      return success();
    }
    Ntot = 0;
    anyBias = false;
    for (Member &m : members) {
      m.offset = Ntot;
      Ntot += m.N;
      anyBias |= bool(m.bias);
    }
    std::string names;
    for (const Member &m : members)
      names += (names.empty() ? "" : ", ") + nameOf(m.mm) + " (N = " + std::to_string(m.N) + ")";
    if (std::string pair = gatedPair(members); !pair.empty()) {
      for (const Member &m : members)
        remark(m.mm, "not merged (" + names + "): the results of " + pair +
                         " meet in an elementwise op (a gated pair), which eff-fuse-gemm-epilogue "
                         "puts into one GEMM's epilogue: no launch to save");
      return success();
    }
    Type biasElement;
    for (const Member &m : members)
      if (m.bias) {
        Type e = cast<RankedTensorType>(m.bias.getType()).getElementType();
        if (biasElement && e != biasElement) {
          for (const Member &n : members)
            remark(n.mm, "not merged (" + names + "): their biases have different element types");
          return success();
        }
        biasElement = e;
      }

    // The merged weight [K, Ntot]: each row the members' rows side by side.
    auto wt0 = cast<RankedTensorType>(members[0].weight.getType());
    const int64_t K = wt0.getDimSize(0);
    Type element = wt0.getElementType();
    const int64_t eb = elementBytes(element);
    std::vector<char> merged(size_t(K * Ntot * eb));
    for (const Member &m : members) {
      std::vector<char> bytes;
      if (!constantBytes(m.weight, bytes))
        return m.weight.emitError() << "eff-merge-sibling-linears: the data of " << nameOf(m.mm)
                                    << "'s weight is not available";
      for (int64_t k = 0; k < K; ++k)
        std::memcpy(&merged[size_t((k * Ntot + m.offset) * eb)], &bytes[size_t(k * m.N * eb)],
                    size_t(m.N * eb));
    }
    // Insert at the first member: the activation and every weight are
    // defined before it (constants anywhere before), its readers after.
    Operation *firstOp = members[0].mm;
    for (const Member &m : members)
      if (m.mm->isBeforeInBlock(firstOp))
        firstOp = m.mm;
    Location loc = firstOp->getLoc();
    OpBuilder b(firstOp);
    auto mergedType = RankedTensorType::get({K, Ntot}, element);
    Value weight =
        b.create<ConstantOp>(loc, makeElementsAttr(mergedType, merged, "merged_linear_weight"));
    Value y = b.create<MatMulOp>(loc, members[0].mm.getA(), weight);
    if (anyBias) {
      // Members without a bias add zeros.
      const int64_t bb = elementBytes(biasElement);
      std::vector<char> biasBytes(size_t(Ntot * bb), 0);
      for (const Member &m : members) {
        if (!m.bias)
          continue;
        std::vector<char> bytes;
        if (!constantBytes(m.bias, bytes))
          return m.bias.emitError() << "eff-merge-sibling-linears: the data of " << nameOf(m.mm)
                                    << "'s bias is not available";
        std::memcpy(&biasBytes[size_t(m.offset * bb)], bytes.data(), size_t(m.N * bb));
      }
      Value bias =
          b.create<ConstantOp>(loc, makeElementsAttr(RankedTensorType::get({Ntot}, biasElement),
                                                     biasBytes, "merged_linear_bias"));
      y = b.create<AddOp>(loc, y, bias);
    }

    // Members whose readers split the columns into heads slice whole heads
    // after the reshape (one probe of the bounded dims for the group).
    SmallVector<SmallVector<HeadsReshape>> heads(members.size());
    for (auto [i, m] : llvm::enumerate(members))
      heads[i] = headsCandidates(m, y);
    if (failed(proveHeads(func, members, heads, y)))
      for (auto &h : heads) {
        for (HeadsReshape &r : h)
          r.candidate.erase();
        h.clear();
      }
    std::string how;
    for (auto [i, m] : llvm::enumerate(members)) {
      if (heads[i].empty()) {
        Value slice = sliceColumns(b, loc, y, m.offset, m.N, m.result().getType());
        m.result().replaceAllUsesWith(slice);
      } else {
        for (HeadsReshape &r : heads[i])
          sliceHeads(r, m);
      }
      how += (how.empty() ? "" : "; ") + nameOf(m.mm) + " columns [" + std::to_string(m.offset) +
             ", " + std::to_string(m.offset + m.N) + ")" +
             (heads[i].empty() ? "" : " sliced as whole heads after its reshape");
    }
    remark(y.getDefiningOp(),
           "merged " + names + " into one GEMM over the weights concatenated " + "along N ([" +
               std::to_string(K) + ", " + std::to_string(Ntot) + "]" +
               (anyBias ? ", biases too, zeros for a linear without" : "") + "): " + how);
    for (Member &m : members) {
      if (m.biasAdd)
        m.biasAdd.erase();
      m.mm.erase();
    }
    for (Member &m : members) {
      if (m.weight->use_empty())
        m.weight.erase();
      if (m.bias && m.bias->use_empty())
        m.bias.erase();
    }
    return success();
  }

  /// A reader of a member that splits its columns into heads, and the
  /// merged result through the same shape operand.
  struct HeadsReshape {
    mutable ReshapeOp reshape;
    mutable ReshapeOp candidate;
  };

  /// When every reader of `m`'s result is a reshape [..., N] -> [..., H, D]
  /// with D static and dividing the member's columns and offset: per reader,
  /// the merged result `y` reshaped with the reader's shape operand (to be
  /// proven [..., Ntot / D, D] by proveHeads). Empty otherwise.
  static SmallVector<HeadsReshape> headsCandidates(const Member &m, Value y) {
    Value r = m.result();
    auto rt = cast<RankedTensorType>(r.getType());
    SmallVector<ReshapeOp> reshapes;
    for (Operation *user : r.getUsers()) {
      auto reshape = dyn_cast<ReshapeOp>(user);
      auto out = reshape ? dyn_cast<RankedTensorType>(reshape.getType()) : RankedTensorType();
      if (!reshape || reshape.getData() != r || reshape->hasAttr("eff.device") || !out ||
          out.getRank() != rt.getRank() + 1 || out.isDynamicDim(out.getRank() - 1))
        return {};
      const int64_t D = out.getDimSize(out.getRank() - 1);
      if (D <= 0 || m.N % D != 0 || m.offset % D != 0)
        return {};
      reshapes.push_back(reshape);
    }
    SmallVector<HeadsReshape> result;
    for (ReshapeOp reshape : reshapes) {
      OpBuilder at(reshape);
      auto candidate =
          at.create<ReshapeOp>(reshape.getLoc(), y, reshape.getShape(), reshape.getAllowzeroAttr());
      result.push_back({reshape, candidate});
    }
    return result;
  }

  /// Whether each original reshape is [lead..., N / D, D] and its candidate
  /// [lead..., Ntot / D, D] at every run: statically, or at every probe of
  /// the bounded dims. On success the candidates' heads axis is made static.
  static LogicalResult proveHeads(func::FuncOp func, ArrayRef<Member> members,
                                  ArrayRef<SmallVector<HeadsReshape>> heads, Value y) {
    const int64_t Ntot = cast<RankedTensorType>(y.getType()).getShape().back();
    auto holds = [&](int64_t N, ArrayRef<int64_t> orig, ArrayRef<int64_t> cand) {
      const int64_t D = orig.back();
      return orig.size() == cand.size() && orig.size() >= 2 &&
             orig.drop_back(2) == cand.drop_back(2) && cand.back() == D &&
             orig[orig.size() - 2] * D == N && cand[cand.size() - 2] * D == Ntot;
    };
    bool any = false, dynamic = false;
    for (const auto &h : heads)
      for (const HeadsReshape &r : h) {
        any = true;
        dynamic |= !cast<RankedTensorType>(r.reshape.getType()).hasStaticShape() ||
                   !cast<RankedTensorType>(r.candidate.getType()).hasStaticShape();
      }
    if (!any)
      return success();
    if (!dynamic) {
      for (auto [m, h] : llvm::zip(members, heads))
        for (const HeadsReshape &r : h)
          if (!holds(m.N, cast<RankedTensorType>(r.reshape.getType()).getShape(),
                     cast<RankedTensorType>(r.candidate.getType()).getShape()))
            return failure();
      return success();
    }
    auto probed = probeBoundedShapes(func);
    if (failed(probed) || probed->empty())
      return failure();
    for (const auto &probe : *probed)
      for (auto [m, h] : llvm::zip(members, heads))
        for (const HeadsReshape &r : h) {
          auto shapeOf = [&](ReshapeOp op) -> std::optional<SmallVector<int64_t>> {
            auto t = cast<RankedTensorType>(op.getType());
            if (t.hasStaticShape())
              return SmallVector<int64_t>(t.getShape());
            auto it = probe.find(op.getResult());
            if (it == probe.end())
              return std::nullopt;
            return it->second;
          };
          auto orig = shapeOf(r.reshape), cand = shapeOf(r.candidate);
          if (!orig || !cand || !holds(m.N, *orig, *cand))
            return failure();
        }
    for (const auto &h : heads)
      for (const HeadsReshape &r : h) {
        auto t = cast<RankedTensorType>(r.candidate.getType());
        SmallVector<int64_t> shape(t.getShape());
        shape[shape.size() - 2] = Ntot / shape.back();
        r.candidate.getResult().setType(RankedTensorType::get(shape, t.getElementType()));
      }
    return success();
  }

  /// The reader reads whole heads of the merged result: a slice of the
  /// candidate on the heads axis, typed as the reader's result.
  static void sliceHeads(HeadsReshape &r, const Member &m) {
    auto out = cast<RankedTensorType>(r.reshape.getType());
    const int64_t D = out.getShape().back();
    OpBuilder at(r.reshape);
    Location loc = r.reshape.getLoc();
    Value starts = i64Constant(at, loc, {m.offset / D});
    Value ends = i64Constant(at, loc, {(m.offset + m.N) / D});
    Value axes = i64Constant(at, loc, {out.getRank() - 2});
    auto slice = at.create<SliceOp>(loc, out, r.candidate.getResult(), starts, ends, axes, Value());
    r.reshape.getResult().replaceAllUsesWith(slice.getResult());
    r.reshape.erase();
  }

  static bool constantBytes(ConstantOp c, std::vector<char> &bytes) {
    auto type = cast<RankedTensorType>(c.getType());
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()); dense && dense.isSplat()) {
      std::vector<char> one;
      if (!getElementsBytes(dense.resizeSplat(RankedTensorType::get({1}, type.getElementType())),
                            one))
        return false;
      bytes.clear();
      for (int64_t i = 0; i < type.getNumElements(); ++i)
        bytes.insert(bytes.end(), one.begin(), one.end());
      return true;
    }
    return getElementsBytes(c.getValue(), bytes);
  }

  /// y[..., offset : offset + n] as `type` (the replaced value's).
  static Value sliceColumns(OpBuilder &b, Location loc, Value y, int64_t offset, int64_t n,
                            Type type) {
    const int64_t rank = cast<RankedTensorType>(y.getType()).getRank();
    Value starts = i64Constant(b, loc, {offset});
    Value ends = i64Constant(b, loc, {offset + n});
    Value axes = i64Constant(b, loc, {rank - 1});
    return b.create<SliceOp>(loc, type, y, starts, ends, axes, Value()).getResult();
  }
};

} // namespace
