//===- QuantOps.cpp - quant_linear --------------------------------------------===//
// The kernels trust the packed sizes: every byte count, scale count and
// zero-point shape follows from scheme, block_size, K and N, and each
// disagreement is an error naming the operand and what it should be.
#include "dialects/eff/EffOps.h"

#include "quant_defs.cuh"

#include <cmath>

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

RankedTensorType rankedOf(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + (ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]));
  return s + "]";
}

/// `t` must have exactly `want` (its dynamic dims match anything).
LogicalResult expectShape(Operation *op, StringRef name, RankedTensorType t, ArrayRef<int64_t> want,
                          StringRef why) {
  if (!t)
    return success();
  bool same = t.getRank() == int64_t(want.size());
  for (int64_t i = 0; same && i < t.getRank(); ++i)
    same = ShapedType::isDynamic(t.getDimSize(i)) || t.getDimSize(i) == want[size_t(i)];
  if (!same)
    return op->emitOpError() << name << " must be " << shapeText(want) << " (" << why << "), got "
                             << shapeText(t.getShape());
  return success();
}

} // namespace

int64_t mlir::eff::quantSchemeBits(QuantScheme scheme) {
  return scheme == QuantScheme::Int8 || scheme == QuantScheme::DynamicInt8 ||
                 scheme == QuantScheme::LLMInt8
             ? 8
             : 4;
}

LogicalResult QuantLinearOp::verify() {
  QuantScheme scheme = getScheme();
  QuantLayout layout = getLayout();
  int64_t K = int64_t(getK()), N = int64_t(getN()), bs = int64_t(getBlockSize());
  int64_t bits = quantSchemeBits(scheme);
  StringRef schemeName = stringifyQuantScheme(scheme);
  if (K <= 0 || N <= 0)
    return emitOpError("K and N must be positive, got K = ") << K << ", N = " << N;
  if (bs <= 0)
    return emitOpError("block_size must be positive, got ") << bs;
  bool bnb = scheme == QuantScheme::NF4 || scheme == QuantScheme::FP4;
  QuantLayout wantLayout = bnb ? QuantLayout::BnbFlat : QuantLayout::NBlocks;
  if (layout != wantLayout)
    return emitOpError() << "scheme " << schemeName << " needs layout "
                         << stringifyQuantLayout(wantLayout) << ", got "
                         << stringifyQuantLayout(layout);
  if (layout == QuantLayout::NBlocks && bits == 4 && bs % 2 != 0)
    return emitOpError() << "4-bit blocks pack two codes per byte: block_size must be even, got "
                         << bs;
  if (scheme == QuantScheme::DynamicInt8 && bs < K)
    return emitOpError() << "dynamic_int8 sums all of K in int32 with one scale per column: "
                            "block_size must be >= K = "
                         << K << ", got " << bs;
  if (bnb && getZeroPoints())
    return emitOpError() << schemeName << " has no zero points";
  Type scalesElt = cast<ShapedType>(getScales().getType()).getElementType();
  if (getDoubleQuant() && !bnb)
    return emitOpError() << "double_quant is an nf4/fp4 option, got scheme " << schemeName;
  if (getDoubleQuant() != scalesElt.isUnsignedInteger(8))
    return emitOpError() << "scales must be "
                         << (getDoubleQuant() ? "ui8 (double_quant: 8-bit absmaxes, their scales "
                                                "and offset)"
                                              : "a float tensor (ui8 only with double_quant)")
                         << ", got " << scalesElt;
  if (scheme == QuantScheme::LLMInt8) {
    if (bs < K)
      return emitOpError() << "llm_int8 has one scale per column (vector-wise): block_size must "
                              "be >= K = "
                           << K << ", got " << bs;
    if (getZeroPoints())
      return emitOpError("llm_int8 weights are symmetric (code - 128): no zero_points");
    double t = getThreshold().convertToDouble();
    if (!(t > 0) || std::isinf(t))
      return emitOpError("llm_int8 threshold must be a positive finite number, got ") << t;
  }

  auto a = rankedOf(getA());
  if (a && a.getRank() < 1)
    return emitOpError("a must have rank >= 1 ([..., K]), got a scalar");
  if (a && !ShapedType::isDynamic(a.getShape().back()) && a.getShape().back() != K)
    return emitOpError() << "a must be [..., K] with K = " << K << ", got "
                         << shapeText(a.getShape());

  auto weight = rankedOf(getWeight()), scales = rankedOf(getScales());
  if (layout == QuantLayout::BnbFlat) {
    int64_t numel = N * K;
    if (failed(expectShape(*this, "weight", weight, {ceilDiv(numel, 2)},
                           "N * K = " + std::to_string(numel) + " codes, two per byte")) ||
        failed(expectShape(
            *this, "scales", scales,
            {getDoubleQuant() ? int64_t(QL_DQ_BYTES(ceilDiv(numel, bs))) : ceilDiv(numel, bs)},
            (getDoubleQuant() ? "bytes of double-quantized absmaxes, one per block of "
                              : "one absmax per block of ") +
                std::to_string(bs) + " of N * K = " + std::to_string(numel))))
      return failure();
    return success();
  }
  int64_t blocks = ceilDiv(K, bs);
  std::string perBlock =
      "one per column n and block of " + std::to_string(bs) + " along K = " + std::to_string(K);
  if (failed(expectShape(*this, "weight", weight, {N, blocks, bs * bits / 8},
                         "[N, ceil(K / block_size), block_size * " + std::to_string(bits) +
                             " / 8] for " + schemeName.str())) ||
      failed(expectShape(*this, "scales", scales, {N, blocks}, perBlock)) ||
      failed(expectShape(*this, "zero_points", rankedOf(getZeroPoints()), {N, blocks}, perBlock)))
    return failure();
  return success();
}

LogicalResult QuantLinearOp::inferResultTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  Type elt = cast<TensorType>(adaptor.getA().getType()).getElementType();
  auto a = rankedOf(adaptor.getA());
  if (!a) {
    types.push_back(UnrankedTensorType::get(elt));
    return success();
  }
  if (a.getRank() == 0)
    return emitOptionalError(loc, "a must have rank >= 1 ([..., K]), got a scalar");
  SmallVector<int64_t> shape(a.getShape().drop_back());
  shape.push_back(int64_t(adaptor.getN()));
  types.push_back(tensorOf(shape, elt));
  return success();
}

OpFoldResult QuantLinearOp::fold(FoldAdaptor adaptor) {
  return foldWithHostKernel(getOperation(), adaptor.getOperands());
}
