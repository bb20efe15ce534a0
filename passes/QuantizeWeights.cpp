//===- QuantizeWeights.cpp - weight-only quantization of linear layers ----===//
//
// Every linear layer with a constant fp32 weight (passes/LinearLayer.h)
// becomes eff.quant_linear with the weight packed at compile time
// (compiler/quant/WeightQuantizer.h): int8 (symmetric, per output channel or
// per block of K), nf4 (bitsandbytes' flat layout, optional double
// quantization) or llm-int8 (the int8 per-channel codes, with the activation
// quantized per row at run time and its outlier columns kept in fp32). Modules whose recorded path
// matches `skip` keep their weight; a Gemm bias becomes an add after the op. An eff.lora_linear
// (one adapter, from --lora) is QLoRA: its base weight is quantized and the low-rank branch stays
// unmerged, x a then lora_expand onto the quantized product. Runs on the fp32 model (before
// --dtype), so the codes come from the exact weights. See Passes.td.
//
//===----------------------------------------------------------------------===//
#include "compiler/quant/WeightQuantizer.h"
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/ModulePath.h"
#include "passes/LinearLayer.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Regex.h"

#include <cmath>

namespace mlir::eff {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

std::string mib(double bytes) { return llvm::formatv("{0:f2} MiB", bytes / (1024.0 * 1024.0)); }

struct QuantizeWeightsPass : public mlir::eff::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (scheme != "int8" && scheme != "nf4" && scheme != "llm-int8") {
      func.emitError("eff-quantize-weights: scheme must be int8, nf4 or llm-int8, got '")
          << scheme << "'";
      return signalPassFailure();
    }
    const bool llm = scheme == "llm-int8";
    if (llm && blockSize != 0) {
      func.emitError("eff-quantize-weights: llm-int8 quantizes each output channel as one vector "
                     "(block-size must be 0, got ")
          << int64_t(blockSize) << ")";
      return signalPassFailure();
    }
    if (!(llmInt8Threshold > 0) || std::isinf(llmInt8Threshold)) {
      func.emitError("eff-quantize-weights: llm-int8-threshold must be a positive number, got ")
          << double(llmInt8Threshold);
      return signalPassFailure();
    }
    const int64_t block = blockSize > 0 ? blockSize : scheme == "nf4" ? 64 : 0;
    if (scheme == "nf4" && block % 2) {
      func.emitError("eff-quantize-weights: nf4 blocks must hold an even number of values, got ")
          << block;
      return signalPassFailure();
    }
    if (doubleQuant && scheme != "nf4") {
      func.emitError("eff-quantize-weights: double quantization is an nf4 option");
      return signalPassFailure();
    }
    llvm::Regex skipRegex(skip);
    std::string regexError;
    if (!skip.empty() && !skipRegex.isValid(regexError)) {
      func.emitError("eff-quantize-weights: skip pattern '") << skip << "': " << regexError;
      return signalPassFailure();
    }
    SmallVector<Operation *> candidates;
    func.walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp, LoRALinearOp>(op))
        candidates.push_back(op);
    });
    double before = 0, after = 0;
    int quantized = 0;
    for (Operation *op : candidates) {
      std::optional<LinearLayer> l = asLinearLayer(op, /*needModulePath=*/false);
      if (auto lora = dyn_cast<LoRALinearOp>(op))
        l = loraBase(lora);
      if (!l) {
        if (remarks && isa<GemmOp>(op))
          op->emitRemark("not quantized: not x times a constant 2-D weight");
        if (remarks && isa<LoRALinearOp>(op))
          op->emitRemark("not quantized: LoRA with stacked adapters (lora_index) or a base "
                         "weight that is not a constant [K, N]");
        continue; // activation x activation matmuls (attention) are not linear layers
      }
      std::string why = reasonToSkip(*l, skipRegex);
      if (!why.empty()) {
        if (remarks)
          op->emitRemark("not quantized: ") << why;
        continue;
      }
      std::optional<std::vector<float>> w = readF32(l->weight);
      if (!w) {
        if (remarks)
          op->emitRemark("not quantized: the weight is not fp32 data");
        continue;
      }
      // The quantizers read W [K, N].
      std::vector<float> kn = *w;
      if (l->weightIsNK)
        for (int64_t n = 0; n < l->N; ++n)
          for (int64_t k = 0; k < l->K; ++k)
            kn[size_t(k * l->N + n)] = (*w)[size_t(n * l->K + k)];
      // llm-int8's weight codes are int8's per channel (block 0).
      effc::quant::PackedWeight p =
          scheme == "nf4" ? effc::quant::quantizeNF4(kn.data(), l->K, l->N, block, doubleQuant)
                          : effc::quant::quantizeInt8(kn.data(), l->K, l->N, block);
      if (failed(replace(*l, p)))
        return signalPassFailure();
      const double bytesBefore = double(kn.size()) * 4, bytesAfter = double(p.codes.size()) +
                                                                     double(p.scales.size()) * 4 +
                                                                     double(p.scaleBytes.size());
      before += bytesBefore, after += bytesAfter;
      ++quantized;
      if (remarks)
        op->emitRemark(llvm::formatv(
            "quantized to {0} ({1}, K={2} N={3}): {4} -> {5}{6}", scheme,
            describeBlocks(p.blockSize), l->K, l->N, mib(bytesBefore), mib(bytesAfter),
            isa<LoRALinearOp>(op) ? ", LoRA branch unmerged (QLoRA)" : ""));
    }
    for (Operation *op : candidates)
      if (op->use_empty())
        op->erase();
    if (remarks)
      func.emitRemark(llvm::formatv("quantized {0} linear layers to {1}: weights {2} -> {3}",
                                    quantized, scheme, mib(before), mib(after)));
  }

  std::string describeBlocks(int64_t bs) const {
    if (scheme == "nf4")
      return llvm::formatv("blocks of {0}{1}", bs, doubleQuant ? ", double quantized" : "");
    if (scheme == "llm-int8")
      return llvm::formatv("per channel, outliers |x| >= {0}",
                           llvm::format("%g", double(llmInt8Threshold)));
    return blockSize > 0 ? std::string(llvm::formatv("blocks of {0}", bs)) : "per channel";
  }

  /// The base layer of a single-adapter eff.lora_linear: x times its
  /// constant [K, N] weight.
  static std::optional<LinearLayer> loraBase(LoRALinearOp op) {
    auto w = op.getW().getDefiningOp<ConstantOp>();
    auto wt = dyn_cast<RankedTensorType>(op.getW().getType());
    if (op.getLoraIndex() || cast<ShapedType>(op.getA().getType()).getRank() != 2 || !w || !wt ||
        wt.getRank() != 2 || !wt.hasStaticShape())
      return std::nullopt;
    LinearLayer l;
    l.op = op;
    l.x = op.getX();
    l.weight = w;
    l.K = wt.getDimSize(0), l.N = wt.getDimSize(1);
    l.modulePath = effc::getModulePath(op->getLoc()).value_or("");
    return l;
  }

  /// Why `l` keeps its weight ("" when it is quantized).
  std::string reasonToSkip(const LinearLayer &l, llvm::Regex &skipRegex) const {
    if (!skip.empty() && !l.modulePath.empty() && skipRegex.match(l.modulePath))
      return "module '" + l.modulePath + "' matches the skip pattern '" + skip + "'";
    if (auto gemm = dyn_cast<GemmOp>(l.op)) {
      if (gemm.getAlpha().convertToDouble() != 1.0)
        return "Gemm with alpha != 1";
      if (gemm.getC() && gemm.getBeta().convertToDouble() != 1.0)
        return "Gemm with beta != 1";
    }
    if (!cast<ShapedType>(l.x.getType()).getElementType().isF32())
      return "the activation is not fp32 (quantization runs before --dtype)";
    return "";
  }

  LogicalResult replace(const LinearLayer &l, const effc::quant::PackedWeight &p) {
    OpBuilder b(l.op);
    Location loc = l.op->getLoc();
    Type u8 = b.getIntegerType(8, /*isSigned=*/false);
    auto bytesOf = [](const auto &v) {
      return ArrayRef<char>(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(v.front()));
    };
    Value codes =
        b.create<ConstantOp>(loc, makeElementsAttr(RankedTensorType::get(p.codesShape, u8),
                                                   bytesOf(p.codes), "quant_codes"));
    // Double-quantized absmaxes are bytes (quant_defs.cuh's QL_DQ layout).
    const bool dq = !p.scaleBytes.empty();
    Value scales = b.create<ConstantOp>(
        loc, dq ? makeElementsAttr(RankedTensorType::get(p.scalesShape, u8), bytesOf(p.scaleBytes),
                                   "quant_scales")
                : makeElementsAttr(RankedTensorType::get(p.scalesShape, b.getF32Type()),
                                   bytesOf(p.scales), "quant_scales"));
    auto xt = cast<RankedTensorType>(l.x.getType());
    SmallVector<int64_t> shape(xt.getShape().drop_back());
    shape.push_back(l.N);
    const bool nf4 = scheme == "nf4", llm = scheme == "llm-int8";
    NamedAttrList attrs;
    attrs.set("scheme", QuantSchemeAttr::get(b.getContext(), nf4   ? QuantScheme::NF4
                                                             : llm ? QuantScheme::LLMInt8
                                                                   : QuantScheme::Int8));
    attrs.set("layout", QuantLayoutAttr::get(b.getContext(),
                                             nf4 ? QuantLayout::BnbFlat : QuantLayout::NBlocks));
    attrs.set("K", b.getI64IntegerAttr(l.K));
    attrs.set("N", b.getI64IntegerAttr(l.N));
    attrs.set("block_size", b.getI64IntegerAttr(p.blockSize));
    if (llm)
      attrs.set("threshold", b.getF32FloatAttr(float(llmInt8Threshold)));
    if (dq)
      attrs.set("double_quant", b.getUnitAttr());
    Value y =
        b.create<QuantLinearOp>(loc, TypeRange{RankedTensorType::get(shape, xt.getElementType())},
                                ValueRange{l.x, codes, scales}, attrs.getAttrs())
            .getResult();
    if (auto gemm = dyn_cast<GemmOp>(l.op); gemm && gemm.getC())
      y = b.create<AddOp>(loc, TypeRange{l.op->getResult(0).getType()}, ValueRange{y, gemm.getC()})
              .getResult();
    if (auto lora = dyn_cast<LoRALinearOp>(l.op)) { // y + scale * (x a) b
      Value t = b.create<MatMulOp>(loc, l.x, lora.getA());
      y = b.create<LoRAExpandOp>(loc, y, t, lora.getB(), Value(), lora.getScaleAttr(),
                                 b.getI64IntegerAttr(0))
              .getResult();
    }
    if (y.getType() != l.op->getResult(0).getType())
      return l.op->emitError("eff-quantize-weights: the quantized linear's type ")
             << y.getType() << " differs from the layer's " << l.op->getResult(0).getType();
    l.op->getResult(0).replaceAllUsesWith(y);
    return success();
  }
};

} // namespace
