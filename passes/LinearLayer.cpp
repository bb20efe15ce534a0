//===- LinearLayer.cpp - linear layers with a constant weight -------------===//
#include "passes/LinearLayer.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/ModulePath.h"

#include <cstring>

namespace mlir::eff {

std::optional<LinearLayer> asLinearLayer(Operation *op, bool needModulePath) {
  LinearLayer l;
  l.op = op;
  std::optional<std::string> path = effc::getModulePath(op->getLoc());
  if (!path && needModulePath)
    return std::nullopt;
  l.modulePath = path.value_or("");
  Value w;
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    l.x = mm.getA(), w = mm.getB();
    l.weightIsNK = mm.getTransB() != 0;
  } else if (auto gemm = dyn_cast<GemmOp>(op)) {
    if (gemm.getTransA() != 0)
      return std::nullopt;
    l.x = gemm.getA(), w = gemm.getB();
    l.weightIsNK = gemm.getTransB() != 0;
  } else {
    return std::nullopt;
  }
  l.weight = w.getDefiningOp<ConstantOp>();
  auto wt = dyn_cast<RankedTensorType>(w.getType());
  auto xt = dyn_cast<RankedTensorType>(l.x.getType());
  if (!l.weight || !wt || wt.getRank() != 2 || !wt.hasStaticShape() || !xt || xt.getRank() < 1)
    return std::nullopt;
  l.K = wt.getDimSize(l.weightIsNK ? 1 : 0);
  l.N = wt.getDimSize(l.weightIsNK ? 0 : 1);
  return l;
}

std::optional<std::vector<float>> readF32(ConstantOp constant) {
  if (!constant.getType().getElementType().isF32())
    return std::nullopt;
  std::vector<char> bytes;
  if (!getElementsBytes(constant.getValue(), bytes))
    return std::nullopt;
  std::vector<float> values(bytes.size() / sizeof(float));
  if (!values.empty())
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

} // namespace mlir::eff
