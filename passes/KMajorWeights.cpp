//===- KMajorWeights.cpp - misaligned 16-bit weights stored [N, K] --------===//
//
// A bf16/fp16 constant weight [K, N] whose rows are not 16-byte aligned (N
// not a multiple of 8: GPT-2's LM head, N = 50257) cannot be read through a
// TMA tensor map (global strides are 16-byte multiples) nor by the wgmma
// kernels' 16-byte loads, so its GEMM stayed on mma.sync on sm_90a. Stored
// [N, K] (rows of K elements, aligned when K is a multiple of 8) with the
// matmul's transB set, the GEMM takes the wgmma kernels with B K-major
// (compiler/codegen/gemm/WgmmaGemm.cpp; the layout is wgmma_gemm.cuh's).
// effc adds the pass for --arch=sm_90a unless --gemm=mma (Pipeline.cpp).
//
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace mlir::eff {
#define GEN_PASS_DEF_KMAJORWEIGHTS
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

struct KMajorWeights : public eff::impl::KMajorWeightsBase<KMajorWeights> {
  using KMajorWeightsBase::KMajorWeightsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Each weight once, in program order.
    SmallVector<ConstantOp> weights;
    func.walk([&](MatMulOp mm) {
      auto w = mm.getB().getDefiningOp<ConstantOp>();
      if (w && mm.getTransB() == 0 && misaligned(w) && !llvm::is_contained(weights, w))
        weights.push_back(w);
    });
    for (ConstantOp w : weights)
      if (failed(store(w)))
        return signalPassFailure();
  }

  /// A static 2-D bf16/fp16 [K, N] whose rows are not 16-byte multiples.
  static bool misaligned(ConstantOp w) {
    auto t = dyn_cast<RankedTensorType>(w.getType());
    if (!t || t.getRank() != 2 || !t.hasStaticShape())
      return false;
    Type e = t.getElementType();
    return (e.isBF16() || e.isF16()) && t.getDimSize(1) % 8 != 0;
  }

  /// Why `w` stays [K, N], or "" when every use can read it as [N, K].
  static std::string whyNot(ConstantOp w) {
    const int64_t K = w.getType().getDimSize(0);
    if (K % 8 != 0)
      return "K = " + std::to_string(K) + " is not a multiple of 8 either, so [N, K] rows would " +
             "not be 16-byte aligned";
    for (OpOperand &use : w->getUses()) {
      auto mm = dyn_cast<MatMulOp>(use.getOwner());
      if (!mm || use.getOperandNumber() != 1 || mm.getTransB() != 0)
        return "the weight is also read by " + use.getOwner()->getName().getStringRef().str() +
               " (operand " + std::to_string(use.getOperandNumber()) +
               "), not only as the b of eff.matmul";
    }
    return "";
  }

  LogicalResult store(ConstantOp w) {
    auto type = cast<RankedTensorType>(w.getType());
    const int64_t K = type.getDimSize(0), N = type.getDimSize(1);
    const std::string what = "eff-k-major-weights: weight " + shapeText({K, N}) + " (rows of " +
                             std::to_string(N * 2) + " bytes, not a multiple of 16: no TMA " +
                             "tensor map or wgmma load can read it)";
    if (std::string why = whyNot(w); !why.empty()) {
      if (remarks)
        for (Operation *user : w->getUsers())
          if (isa<MatMulOp>(user))
            user->emitRemark() << what << " kept [K, N]: " << why;
      return success();
    }
    auto nkType = RankedTensorType::get({N, K}, type.getElementType());
    ElementsAttr value;
    if (auto dense = dyn_cast<DenseElementsAttr>(w.getValue()); dense && dense.isSplat()) {
      value = dense.reshape(nkType); // one value: nothing to move
    } else {
      std::vector<char> bytes;
      if (!getElementsBytes(w.getValue(), bytes))
        return w.emitError() << "eff-k-major-weights: the data of weight " << shapeText({K, N})
                             << " is not available (elided?), so it cannot be stored [N, K]";
      std::vector<char> nk(bytes.size());
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          for (int b = 0; b < 2; ++b)
            nk[size_t((n * K + k) * 2 + b)] = bytes[size_t((k * N + n) * 2 + b)];
      value = makeElementsAttr(nkType, nk, "k_major");
    }
    OpBuilder builder(w);
    auto stored = builder.create<ConstantOp>(w.getLoc(), value);
    for (Operation *user : llvm::make_early_inc_range(w->getUsers())) {
      auto mm = cast<MatMulOp>(user);
      mm.getBMutable().assign(stored);
      mm.setTransB(1);
      if (remarks)
        mm->emitRemark() << what << " stored " << shapeText({N, K})
                         << " (matmul transB = 1; rows of " << K * 2
                         << " bytes): B is read K-major by the sm_90a wgmma/TMA GEMM";
    }
    w.erase();
    return success();
  }
};

} // namespace
