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
#include "passes/DimBounds.h"
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

/// Bounded symbolic dims (effc --dim NAME=MIN..MAX, eff.dims on main):
/// upper bounds for the dynamic dims of the attention operands of a decoder,
/// from the function's inputs: batch and query length from `input_ids`
/// (dims 0 and 1), the keys from the past length (dim 2 of
/// `past_key_values.*`) plus the query length. They feed only the split
/// decision (the split count is a heuristic; each run cuts its own keys by
/// splitKvChunk); the CUDA emitter re-checks the kernel at the exact bounds
/// the plan infers and refuses it with a message otherwise.
struct DecoderBounds {
  std::optional<int64_t> batch, seq, past;
};

DecoderBounds decoderBounds(func::FuncOp func) {
  DecoderBounds b;
  for (unsigned a = 0; a < func.getNumArguments(); ++a) {
    auto name = func.getArgAttrOfType<StringAttr>(a, "eff.name");
    if (!name)
      continue;
    if (name.getValue() == "input_ids") {
      b.batch = argDimMax(func, a, 0);
      b.seq = argDimMax(func, a, 1);
    } else if (name.getValue().starts_with("past_key_values.")) {
      b.past = argDimMax(func, a, 2);
    }
  }
  return b;
}

struct SplitKVDecodePass : public mlir::eff::impl::SplitKVDecodeBase<SplitKVDecodePass> {
  using SplitKVDecodeBase::SplitKVDecodeBase;

  /// The split count for `op`, or 0 with `reason` saying why it stays whole.
  int decide(AttentionOp op, const DecoderBounds &bounds, std::string &reason) {
    Value q = op.getQ(), k = op.getK(), v = op.getV(), mask = op.getMask();
    effc::DType dtype = toDType(cast<RankedTensorType>(q.getType()).getElementType());
    if (dtype == effc::DType::FLOAT32) {
      reason = "fp32 keeps the exact attention kernel (the decode kernel rounds operands to f16)";
      return 0;
    }
    if (dtype != effc::DType::FLOAT16 && dtype != effc::DType::BFLOAT16) {
      reason = "dtype is not f16 or bf16";
      return 0;
    }
    std::vector<int64_t> qShape = staticShape(q), kShape = staticShape(k), vShape = staticShape(v);
    // Dynamic dims (bounded symbolic dims): the decoder's bounds. Heads come
    // from the other operands (k/v heads, and q's from the output or
    // num_kv_heads when unknown).
    auto dyn = [](int64_t d) { return ShapedType::isDynamic(d); };
    bool symbolic = false;
    for (std::vector<int64_t> *shape : {&qShape, &kShape, &vShape}) {
      if (shape->size() != 4) {
        reason = "q, k, v are not 4-D";
        return 0;
      }
      for (int64_t d : *shape)
        symbolic = symbolic || dyn(d);
    }
    if (symbolic) {
      std::optional<int64_t> seqMax =
          dyn(qShape[2]) ? bounds.seq : std::optional<int64_t>(qShape[2]);
      std::optional<int64_t> kvMax;
      if (!dyn(kShape[2]) || !dyn(vShape[2]))
        kvMax = dyn(kShape[2]) ? vShape[2] : kShape[2];
      else if (bounds.past && seqMax)
        kvMax = *bounds.past + *seqMax;
      std::optional<int64_t> batchMax = !dyn(qShape[0])   ? std::optional<int64_t>(qShape[0])
                                        : !dyn(kShape[0]) ? std::optional<int64_t>(kShape[0])
                                                          : bounds.batch;
      int64_t kvHeads = !dyn(kShape[1]) ? kShape[1] : !dyn(vShape[1]) ? vShape[1] : -1;
      auto out = cast<RankedTensorType>(op.getType()).getShape();
      size_t headsAt = 1; // the result's heads dim, through out_perm
      if (std::optional<ArrayRef<int64_t>> perm = op.getOutPerm())
        headsAt = size_t(llvm::find(*perm, 1) - perm->begin());
      int64_t qHeads = !dyn(qShape[1]) ? qShape[1] : !dyn(out[headsAt]) ? out[headsAt] : kvHeads;
      if (!seqMax || !kvMax || !batchMax || kvHeads < 1 || dyn(qShape[3]) || dyn(kShape[3]) ||
          dyn(vShape[3])) {
        reason = "dynamic shape without bounds (bounded decoders: input_ids [batch, seq] and "
                 "past_key_values.* [.., .., past, ..] with --dim bounds)";
        return 0;
      }
      qShape = {*batchMax, qHeads, *seqMax, qShape[3]};
      kShape = {*batchMax, kvHeads, *kvMax, kShape[3]};
      vShape = {*batchMax, kvHeads, *kvMax, vShape[3]};
    }
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
      // A dynamic mask dim spans the full extent of its axis (strides are
      // the run's; the spec needs only the broadcast pattern).
      const size_t off = 4 - maskShape.size();
      for (size_t r = 0; r < maskShape.size(); ++r)
        if (ShapedType::isDynamic(maskShape[r])) {
          const int64_t full[4] = {qShape[0], qShape[1], qShape[2], kShape[2]};
          maskShape[r] = full[off + r];
        }
    }
    effc::codegen::AttentionSpec spec =
        effc::codegen::packedAttentionSpec(dtype, qShape, kShape, vShape, maskDType, maskShape);
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
    const DecoderBounds bounds = decoderBounds(getOperation());
    getOperation().walk([&](AttentionOp op) {
      std::string reason;
      int count = decide(op, bounds, reason);
      if (count == 0) {
        if (remarks)
          op->emitRemark("attention not split: ") << reason;
        return;
      }
      OpBuilder b(op);
      // The partial results keep [B, Hq, S, Dv]; a stored layout (out_perm)
      // is the combine's, which writes the result.
      SmallVector<NamedAttribute> attrs;
      for (NamedAttribute attr : op->getAttrs())
        if (attr.getName() != op.getOutPermAttrName())
          attrs.push_back(attr);
      attrs.push_back(b.getNamedAttr("num_splits", b.getI64IntegerAttr(count)));
      auto partial = b.create<AttentionPartialOp>(op.getLoc(), op->getOperands(), attrs);
      auto elementType = cast<RankedTensorType>(op.getType()).getElementType();
      SmallVector<NamedAttribute> combineAttrs = {
          b.getNamedAttr("to", b.getI64IntegerAttr(int64_t(toDType(elementType))))};
      if (DenseI64ArrayAttr perm = op.getOutPermAttr())
        combineAttrs.push_back(b.getNamedAttr(op.getOutPermAttrName(), perm));
      auto combine = b.create<AttentionCombineOp>(
          op.getLoc(), ValueRange{partial.getOPartial(), partial.getLse()}, combineAttrs);
      if (remarks) {
        int64_t keys = op.getK().getType().getShape()[2];
        if (ShapedType::isDynamic(keys))
          op->emitRemark(llvm::formatv(
              "split attention: num_splits={0}, keys per split cut at run time", count));
        else
          op->emitRemark(llvm::formatv("split attention: num_splits={0}, {1} keys per split", count,
                                       effc::splitKvChunk(keys, count)));
      }
      op.replaceAllUsesWith(combine.getO());
      op.erase();
    });
  }
};

} // namespace
