//===- SplitKVDecode.cpp - decode-shaped attention to partial + combine ---===//
//
// The decision is the split-KV decode kernel's model
// (compiler/kernelmodel/AttentionModel.h, which the CUDA generator emits
// from): the pass builds the spec the CUDA emitter will build (packedAttentionSpec),
// asks flashDecodeApplicable whether the kernel runs it and
// chooseFlashDecodeSplits how many splits fill the GPU, and records the count
// on eff.attention_partial, so codegen and the host kernels cut the keys the
// same way (effc::splitKvChunk).
//
#include "compiler/kernelmodel/AttentionModel.h"
#include "dialects/eff/EffOps.h"
#include "host/SplitKvAttention.h"
#include "passes/Passes.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::eff {
#define GEN_PASS_DEF_SPLITKVDECODE
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

std::vector<int64_t> staticShape(Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  return std::vector<int64_t>(t.getShape().begin(), t.getShape().end());
}

bool hasStaticShape(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape();
}

struct SplitKVDecodePass : public mlir::eff::impl::SplitKVDecodeBase<SplitKVDecodePass> {
  using SplitKVDecodeBase::SplitKVDecodeBase;

  /// The split count for `op`, or 0 with `reason` saying why it stays whole.
  int decide(AttentionOp op, std::string &reason) {
    Value q = op.getQ(), k = op.getK(), v = op.getV(), mask = op.getMask();
    for (Value operand : {q, k, v, mask})
      if (operand && !hasStaticShape(operand)) {
        reason = "dynamic shape";
        return 0;
      }
    effc::DType dtype = toDType(cast<RankedTensorType>(q.getType()).getElementType());
    if (dtype == effc::DType::FLOAT32) {
      reason = "fp32 keeps the exact attention kernel (the decode kernel rounds operands to f16)";
      return 0;
    }
    if (dtype != effc::DType::FLOAT16 && dtype != effc::DType::BFLOAT16) {
      reason = "dtype is not f16 or bf16";
      return 0;
    }
    std::vector<int64_t> qShape = staticShape(q), kShape = staticShape(k);
    if (qShape[2] > maxQLen) {
      reason = llvm::formatv("{0} queries > max-q-len {1}", qShape[2], int64_t(maxQLen)).str();
      return 0;
    }
    if (kShape[2] < minKvLen) {
      reason = llvm::formatv("{0} keys < min-kv-len {1}", kShape[2], int64_t(minKvLen)).str();
      return 0;
    }
    effc::DType maskDType = effc::DType::UNDEFINED;
    std::vector<int64_t> maskShape;
    if (mask) {
      maskDType = toDType(cast<RankedTensorType>(mask.getType()).getElementType());
      maskShape = staticShape(mask);
      if (maskShape.size() > 4) {
        reason = "mask rank > 4";
        return 0;
      }
    }
    effc::codegen::AttentionSpec spec = effc::codegen::packedAttentionSpec(
        dtype, qShape, kShape, staticShape(v), maskDType, maskShape);
    spec.scale = op.getScale().convertToFloat();
    spec.causal = op.getCausal();
    spec.window = op.getWindow();
    spec.softcap = op.getSoftcap().convertToFloat();
    if (std::optional<ArrayRef<float>> slopes = op.getAlibiSlopes())
      spec.alibiSlopes.assign(slopes->begin(), slopes->end());
    if (std::optional<ArrayRef<float>> sinks = op.getSinks())
      spec.sinks.assign(sinks->begin(), sinks->end());
    spec.maskParam = true;
    spec.numSMs = numSms;
    if (!effc::codegen::flashDecodeApplicable(spec)) {
      std::string why = effc::codegen::flashAttentionUnsupported(spec);
      reason = "the decode kernel cannot run it: " + (why.empty() ? "more than 16 queries" : why);
      return 0;
    }
    int count = splits > 0 ? int(splits) : effc::codegen::chooseFlashDecodeSplits(spec);
    if (count <= 1)
      reason = "one split fills the GPU (enough batch x kv-head CTAs, or one KV tile)";
    return count > 1 ? count : 0;
  }

  void runOnOperation() override {
    getOperation().walk([&](AttentionOp op) {
      std::string reason;
      int count = decide(op, reason);
      if (count == 0) {
        if (remarks)
          op->emitRemark("attention not split: ") << reason;
        return;
      }
      OpBuilder b(op);
      SmallVector<NamedAttribute> attrs(op->getAttrs());
      attrs.push_back(b.getNamedAttr("num_splits", b.getI64IntegerAttr(count)));
      auto partial = b.create<AttentionPartialOp>(op.getLoc(), op->getOperands(), attrs);
      auto elementType = cast<RankedTensorType>(op.getType()).getElementType();
      auto combine = b.create<AttentionCombineOp>(
          op.getLoc(), ValueRange{partial.getOPartial(), partial.getLse()},
          ArrayRef<NamedAttribute>{
              b.getNamedAttr("to", b.getI64IntegerAttr(int64_t(toDType(elementType))))});
      if (remarks) {
        int64_t chunk = effc::splitKvChunk(op.getK().getType().getShape()[2], count);
        op->emitRemark(
            llvm::formatv("split attention: num_splits={0}, {1} keys per split", count, chunk));
      }
      op.replaceAllUsesWith(combine.getO());
      op.erase();
    });
  }
};

} // namespace
