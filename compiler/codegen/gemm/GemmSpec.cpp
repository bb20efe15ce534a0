//===- GemmSpec.cpp - matmul/gemm -> GemmSpec ------------------------------===//
//
// Translates numpy matmul (1-D promotion, broadcast batch dims) and ONNX
// Gemm (transposes, alpha/beta, broadcast C) into one GemmSpec.
//
#include "compiler/codegen/gemm/GemmSpec.h"

#include "compiler/codegen/core/EmitterUtil.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <algorithm>

namespace effc::codegen {
namespace {

bool matmulSpec(const KernelDesc &d, GemmSpec &s, std::string &error) {
  std::vector<int64_t> as = d.inputs[0].shape, bs = d.inputs[1].shape;
  if (as.empty() || bs.empty()) {
    error = d.op + ": operands must have rank >= 1";
    return false;
  }
  // transB (eff-k-major-weights): a 2-D b stored [N, K], read K-major.
  s.transB = d.intAttr("transB", op_defaults::MatMulOp_transB) != 0;
  if (s.transB) {
    if (bs.size() != 2) {
      error = d.op + ": transB = 1 needs a 2-D b, got " + shapeText(d.inputs[1].shape);
      return false;
    }
    std::swap(bs[0], bs[1]);
  }
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  s.M = as[as.size() - 2], s.K = as.back(), s.N = bs.back();
  if (bs[bs.size() - 2] != s.K) {
    error = d.op + ": inner dims differ: " + shapeText(d.inputs[0].shape) + " x " +
            shapeText(d.inputs[1].shape);
    return false;
  }
  std::vector<int64_t> ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  size_t rank = std::max(ab.size(), bb.size());
  s.batchDims.assign(rank, 1);
  for (size_t r = 0; r < rank; ++r) {
    int64_t da = r + ab.size() >= rank ? ab[r + ab.size() - rank] : 1;
    int64_t db = r + bb.size() >= rank ? bb[r + bb.size() - rank] : 1;
    if (da != db && da != 1 && db != 1) {
      error = d.op + ": batch dims do not broadcast: " + shapeText(d.inputs[0].shape) + " x " +
              shapeText(d.inputs[1].shape);
      return false;
    }
    s.batchDims[r] = da == 1 ? db : da;
  }
  s.aBatchStrides = broadcastStrides(ab, s.batchDims);
  s.bBatchStrides = broadcastStrides(bb, s.batchDims);
  for (int64_t &v : s.aBatchStrides)
    v *= s.M * s.K;
  for (int64_t &v : s.bBatchStrides)
    v *= s.K * s.N;
  return true;
}

bool gemmSpec(const KernelDesc &d, GemmSpec &s, std::string &error) {
  const auto &a = d.inputs[0].shape, &b = d.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2) {
    error = d.op + ": A and B must be 2-D";
    return false;
  }
  s.transA = d.intAttr("transA", op_defaults::GemmOp_transA) != 0;
  s.transB = d.intAttr("transB", op_defaults::GemmOp_transB) != 0;
  s.M = s.transA ? a[1] : a[0];
  s.K = s.transA ? a[0] : a[1];
  int64_t kb = s.transB ? b[1] : b[0];
  s.N = s.transB ? b[0] : b[1];
  if (kb != s.K) {
    error = d.op + ": inner dims differ: " + shapeText(a) + " x " + shapeText(b);
    return false;
  }
  s.alpha = d.floatAttr("alpha", op_defaults::GemmOp_alpha);
  s.beta = d.floatAttr("beta", op_defaults::GemmOp_beta);
  if (d.hasInput(2)) {
    const auto &c = d.inputs[2].shape;
    if (c.size() > 2 || (c.size() == 2 && (c[0] != 1 && c[0] != s.M)) ||
        (!c.empty() && c.back() != 1 && c.back() != s.N)) {
      error = d.op + ": C " + shapeText(c) + " does not broadcast to [M, N]";
      return false;
    }
    std::vector<int64_t> st = broadcastStrides(c, {s.M, s.N});
    s.hasBias = true;
    s.biasType = d.inputs[2].dtype;
    s.biasStrideM = st[0];
    s.biasStrideN = st[1];
  }
  return true;
}

} // namespace

bool describeGemm(const KernelDesc &d, GemmSpec &s, std::string &error) {
  if (d.inputs.size() < 2 || d.outputs.size() != 1) {
    error = d.op + ": expected A, B and one output";
    return false;
  }
  s.aType = d.inputs[0].dtype;
  s.bType = d.inputs[1].dtype;
  s.yType = d.outputs[0].dtype;
  s.numInputs = int(d.inputs.size());
  return d.is(EffOp::GemmOp) ? gemmSpec(d, s, error) : matmulSpec(d, s, error);
}

} // namespace effc::codegen
