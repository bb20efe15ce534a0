//===- InsertLoRA.cpp - PEFT LoRA adapters into the model -----------------===//
//
// Finds the linear op of every adapted module through its location (the
// PyTorch module path the importer recorded) and either merges the adapter
// into the weight or replaces the op by eff.lora_linear. See Passes.td.
//
#include "compiler/lora/Adapter.h"
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/ModulePath.h"
#include "passes/LinearLayer.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>
#include <map>

namespace mlir::eff {
#define GEN_PASS_DEF_INSERTLORA
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;
using effc::lora::LoraAdapter;
using effc::lora::LoraModule;

namespace {

Value makeF32Constant(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, ArrayRef<float> values,
                      StringRef hint) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  ArrayRef<char> bytes(reinterpret_cast<const char *>(values.data()),
                       values.size() * sizeof(float));
  return b.create<ConstantOp>(loc, makeElementsAttr(type, bytes, hint));
}

/// One adapter's contribution to one linear op.
struct Use {
  size_t adapter;
  const LoraModule *module;
};

struct InsertLoRAPass : public mlir::eff::impl::InsertLoRABase<InsertLoRAPass> {
  using InsertLoRABase::InsertLoRABase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (adapters.empty())
      return;
    func::FuncOp func = mainFunction(module);
    if (!func) {
      module.emitError("eff-insert-lora: no function to adapt");
      return signalPassFailure();
    }
    if (failed(loadAdapters(module)) || failed(insert(func)))
      return signalPassFailure();
  }

private:
  std::vector<LoraAdapter> loaded;
  /// NAME=DIR forms: one artifact serves every adapter through the index input.
  bool indexed = false;

  static func::FuncOp mainFunction(ModuleOp module) {
    if (auto main = module.lookupSymbol<func::FuncOp>("main"))
      return main;
    auto funcs = module.getOps<func::FuncOp>();
    return funcs.empty() ? nullptr : *funcs.begin();
  }

  LogicalResult loadAdapters(ModuleOp module) {
    llvm::StringSet<> names;
    size_t named = 0;
    for (const std::string &spec : adapters) {
      StringRef name, dir = spec;
      if (auto eq = StringRef(spec).find('='); eq != StringRef::npos) {
        name = StringRef(spec).take_front(eq), dir = StringRef(spec).drop_front(eq + 1);
        if (name.empty() || dir.empty())
          return module.emitError("--lora '") << spec << "': expected DIR or NAME=DIR";
        if (!names.insert(name).second)
          return module.emitError("--lora: adapter name '") << name << "' is given twice";
        ++named;
      }
      llvm::Expected<LoraAdapter> adapter = effc::lora::loadLoraAdapter(dir, name);
      if (!adapter)
        return module.emitError() << llvm::toString(adapter.takeError());
      loaded.push_back(std::move(*adapter));
    }
    if (named != 0 && named != loaded.size())
      return module.emitError("--lora: name every adapter (NAME=DIR) or give a single DIR");
    if (named == 0 && loaded.size() > 1)
      return module.emitError("--lora: several adapters need names (NAME=DIR) so that the '")
             << indexInput << "' input can choose between them";
    indexed = named != 0;
    if (merge && loaded.size() != 1)
      return module.emitError("--lora-merge merges exactly one adapter into the weights (got ")
             << loaded.size() << ")";
    if (merge && indexed)
      return module.emitError("--lora-merge takes an unnamed adapter (--lora=DIR): a merged "
                              "adapter cannot be chosen per request");
    return success();
  }

  LogicalResult insert(func::FuncOp func) {
    std::vector<LinearLayer> linears;
    func.walk([&](Operation *op) {
      if (std::optional<LinearLayer> l = asLinearLayer(op, /*needModulePath=*/true))
        linears.push_back(*l);
    });

    // Which adapter modules land on which linear op.
    std::map<Operation *, std::vector<Use>> uses;
    for (auto [ai, adapter] : llvm::enumerate(loaded)) {
      if (failed(checkTargets(func, adapter, linears)))
        return failure();
      for (const LoraModule &m : adapter.modules) {
        size_t found = 0;
        for (const LinearLayer &l : linears) {
          if (!effc::lora::modulePathMatches(l.modulePath, m.key))
            continue;
          if (l.K != m.inFeatures || l.N != m.outFeatures)
            return l.op->emitError("LoRA adapter '")
                   << adapter.dir << "': module '" << m.key << "' is a " << l.K << " -> " << l.N
                   << " linear in the model, but its lora_A is [" << m.rank << ", " << m.inFeatures
                   << "] and lora_B [" << m.outFeatures << ", " << m.rank << "]";
          uses[l.op].push_back(Use{ai, &m});
          ++found;
        }
        if (found == 0)
          return func.emitError("LoRA adapter '")
                 << adapter.dir << "': module '" << m.key
                 << "' has no linear op in the model (no MatMul/Gemm with a constant weight "
                    "whose module path ends in '"
                 << m.key << "')";
      }
    }

    Value index;
    if (indexed) {
      FailureOr<Value> arg = addIndexInput(func);
      if (failed(arg))
        return failure();
      index = *arg;
    }
    for (const LinearLayer &l : linears) {
      auto it = uses.find(l.op);
      if (it == uses.end())
        continue;
      LogicalResult done =
          merge ? mergeInto(l, *it->second.front().module) : branch(l, it->second, index);
      if (failed(done))
        return failure();
    }
    SmallVector<Attribute> names;
    for (const LoraAdapter &a : loaded)
      names.push_back(StringAttr::get(&getContext(), a.name.empty() ? a.dir : a.name));
    func->setAttr(merge ? "eff.lora_merged" : "eff.lora_adapters",
                  ArrayAttr::get(&getContext(), names));
    return success();
  }

  /// Every target_modules entry must name something in this model.
  LogicalResult checkTargets(func::FuncOp func, const LoraAdapter &adapter,
                             const std::vector<LinearLayer> &linears) {
    if (adapter.modules.empty())
      return func.emitError("LoRA adapter '") << adapter.dir << "' has no lora_A/lora_B tensors";
    for (const std::string &target : adapter.targetModules) {
      bool any = llvm::any_of(linears, [&](const LinearLayer &l) {
        return effc::lora::targetEntryMatches(target, l.modulePath);
      });
      if (!any)
        return func.emitError("LoRA adapter '") << adapter.dir << "': target_modules entry '"
                                                << target << "' matches no linear op in the model";
    }
    return success();
  }

  FailureOr<Value> addIndexInput(func::FuncOp func) {
    auto first = func.getNumArguments() ? dyn_cast<RankedTensorType>(func.getArgument(0).getType())
                                        : RankedTensorType();
    if (!first || first.getRank() < 1 || first.isDynamicDim(0))
      return func.emitError("the '") << indexInput
                                     << "' input needs the batch size: bind the first input's "
                                        "leading dim (--shape)";
    auto type = RankedTensorType::get({first.getDimSize(0)}, IntegerType::get(&getContext(), 64));
    unsigned at = func.getNumArguments();
    OpBuilder b(&getContext());
    func.insertArgument(
        at, type, b.getDictionaryAttr({b.getNamedAttr("eff.name", b.getStringAttr(indexInput))}),
        func.getLoc());
    return func.getArgument(at);
  }

  /// W' = W + scale * (B A)^T in fp32, as a new constant for this op only
  /// (a weight shared with an unadapted op keeps its value there).
  LogicalResult mergeInto(const LinearLayer &l, const LoraModule &m) {
    std::optional<std::vector<float>> w = readF32(l.weight);
    if (!w)
      return l.op->emitError("--lora-merge: the weight of '") << m.key << "' is not fp32 data";
    const int64_t R = m.rank, K = l.K, N = l.N;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        double delta = 0;
        for (int64_t r = 0; r < R; ++r)
          delta += double(m.b[n * R + r]) * double(m.a[r * K + k]);
        float &dst = l.weightIsNK ? (*w)[n * K + k] : (*w)[k * N + n];
        dst = float(double(dst) + m.scale * delta);
      }
    OpBuilder b(l.op);
    auto wt = cast<RankedTensorType>(l.weight.getType());
    Value merged = makeF32Constant(b, l.weight.getLoc(), wt.getShape(), *w, "lora_merged");
    l.op->setOperand(1, merged);
    return success();
  }

  /// Replaces the linear by eff.lora_linear(x, W[K,N], A', B' [, index]).
  LogicalResult branch(const LinearLayer &l, const std::vector<Use> &us, Value index) {
    auto xt = cast<RankedTensorType>(l.x.getType());
    if (!xt.getElementType().isF32())
      return l.op->emitError("LoRA: expected an fp32 model at '")
             << l.modulePath << "' (compute precision is chosen later, with --dtype)";
    const int64_t K = l.K, N = l.N;
    const int64_t n = indexed ? int64_t(loaded.size()) : 1;
    int64_t R = 0;
    for (const Use &u : us)
      R = std::max(R, u.module->rank);
    // A' [n, K, R] = A_i^T, B' [n, R, N] = scale_i * B_i^T, zero padded.
    std::vector<float> a(n * K * R, 0.0f), bb(n * R * N, 0.0f);
    for (const Use &u : us) {
      const LoraModule &m = *u.module;
      int64_t slot = indexed ? int64_t(u.adapter) : 0;
      for (int64_t r = 0; r < m.rank; ++r) {
        for (int64_t k = 0; k < K; ++k)
          a[(slot * K + k) * R + r] = m.a[r * K + k];
        for (int64_t c = 0; c < N; ++c)
          bb[(slot * R + r) * N + c] = float(m.scale * double(m.b[c * m.rank + r]));
      }
    }
    OpBuilder b(l.op);
    Location loc = l.op->getLoc();
    SmallVector<int64_t> aShape{K, R}, bShape{R, N};
    if (indexed)
      aShape.insert(aShape.begin(), n), bShape.insert(bShape.begin(), n);
    Value aConst = makeF32Constant(b, loc, aShape, a, "lora_a");
    Value bConst = makeF32Constant(b, loc, bShape, bb, "lora_b");

    FailureOr<Value> w = weightKN(b, l);
    if (failed(w))
      return failure();
    SmallVector<Value> operands{l.x, *w, aConst, bConst};
    if (indexed)
      operands.push_back(index);
    auto resultType = RankedTensorType::get(
        [&] {
          SmallVector<int64_t> s(xt.getShape().drop_back());
          s.push_back(N);
          return s;
        }(),
        xt.getElementType());
    Value result = b.create<LoRALinearOp>(loc, TypeRange{resultType}, operands).getResult();
    if (auto gemm = dyn_cast<GemmOp>(l.op)) {
      if (gemm.getAlpha().convertToDouble() != 1.0)
        return gemm.emitError("LoRA: Gemm with alpha != 1 at '")
               << l.modulePath << "' is not supported";
      if (Value c = gemm.getC()) {
        if (gemm.getBeta().convertToDouble() != 1.0)
          return gemm.emitError("LoRA: Gemm with beta != 1 at '")
                 << l.modulePath << "' is not supported";
        result =
            b.create<AddOp>(loc, TypeRange{l.op->getResult(0).getType()}, ValueRange{result, c})
                .getResult();
      }
    }
    l.op->getResult(0).replaceAllUsesWith(result);
    l.op->erase();
    return success();
  }

  /// The weight as [K, N] (a Gemm's transB weight is transposed once, here).
  FailureOr<Value> weightKN(OpBuilder &b, const LinearLayer &l) {
    if (!l.weightIsNK)
      return l.weight.getResult();
    std::optional<std::vector<float>> w = readF32(l.weight);
    if (!w)
      return l.op->emitError("LoRA: the weight of '") << l.modulePath << "' is not fp32 data";
    std::vector<float> t(w->size());
    for (int64_t n = 0; n < l.N; ++n)
      for (int64_t k = 0; k < l.K; ++k)
        t[k * l.N + n] = (*w)[n * l.K + k];
    return makeF32Constant(b, l.weight.getLoc(), {l.K, l.N}, t, "weight_kn");
  }
};

} // namespace
