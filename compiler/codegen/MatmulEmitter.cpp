//===- MatmulEmitter.cpp - matmul/gemm/gemm_epilogue -> GemmSpec -----------===//
//
// describeGemm turns the op into a GemmSpec (gemm/GemmSpec.h); an eff.fusion
// gemm_epilogue adds the rest of its body as the spec's epilogue, rendered
// once by the elementwise emitters' scalar-expression code.
//
#include "compiler/codegen/EmitterUtil.h"
#include "compiler/codegen/Families.h"
#include "compiler/codegen/Gemm.h"

#include <algorithm>

namespace effc::codegen {
namespace {

bool matmulSpec(const KernelDesc &d, GemmSpec &s, std::string &error) {
  std::vector<int64_t> as = d.inputs[0].shape, bs = d.inputs[1].shape;
  if (as.empty() || bs.empty()) {
    error = d.op + ": operands must have rank >= 1";
    return false;
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
  s.transA = d.intAttr("transA", 0) != 0;
  s.transB = d.intAttr("transB", 0) != 0;
  s.M = s.transA ? a[1] : a[0];
  s.K = s.transA ? a[0] : a[1];
  int64_t kb = s.transB ? b[1] : b[0];
  s.N = s.transB ? b[0] : b[1];
  if (kb != s.K) {
    error = d.op + ": inner dims differ: " + shapeText(a) + " x " + shapeText(b);
    return false;
  }
  s.alpha = d.floatAttr("alpha", 1.0);
  s.beta = d.floatAttr("beta", 1.0);
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


/// Element offset of a tensor of shape `in` broadcast into `out` = [batch...,
/// M, N] at (linear batch index, m, n).
std::string broadcastOffset(const std::vector<int64_t> &in, const std::vector<int64_t> &out,
                            const std::string &batch, const std::string &m, const std::string &n) {
  std::vector<int64_t> st = broadcastStrides(in, out);
  size_t r = out.size();
  std::string off;
  auto add = [&](const std::string &term) { off += (off.empty() ? "" : " + ") + term; };
  int64_t inner = 1;
  for (size_t d = r - 2; d-- > 0;) {
    if (st[d] && out[d] != 1)
      add("((long long)(" + batch + ")" + (inner == 1 ? "" : " / " + std::to_string(inner)) + " % " +
          std::to_string(out[d]) + ") * " + std::to_string(st[d]));
    inner *= out[d];
  }
  if (st[r - 2])
    add("(long long)(" + m + ") * " + std::to_string(st[r - 2]));
  if (st[r - 1])
    add("(long long)(" + n + ") * " + std::to_string(st[r - 1]));
  return off.empty() ? "0" : off;
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

bool emitGemmEpilogue(const KernelDesc &d, CudaKernel &out, std::string &error) {
  if (d.body.empty() || d.outputs.size() != 1) {
    error = d.op + ": gemm_epilogue needs a body and one output";
    return false;
  }
  const FusedOp &gemm = d.body[0];
  GemmSpec s;
  if (!describeGemm(gemm.desc, s, error))
    return false;
  // The GEMM reads kernel inputs directly; the output is the fusion's.
  int numInputs = int(d.inputs.size());
  for (int v : gemm.operands)
    if (v >= numInputs) {
      error = d.op + ": the GEMM's operands must be kernel inputs";
      return false;
    }
  s.aInput = gemm.operands.at(0);
  s.bInput = gemm.operands.at(1);
  if (s.hasBias)
    s.biasInput = gemm.operands.at(2);
  s.numInputs = int(d.inputs.size());
  s.yType = d.outputs[0].dtype;
  // Epilogue inputs broadcast into [batch..., M, N], the GEMM's full shape.
  std::vector<int64_t> shape = s.batchDims;
  shape.push_back(s.M);
  shape.push_back(s.N);
  if (shape != gemm.desc.outputs.at(0).shape || d.outputs[0].shape != shape) {
    error = d.op + ": gemm_epilogue output " + shapeText(d.outputs[0].shape) + " is not the GEMM's [batch..., M, N]";
    return false;
  }
  // LoRA operands (t, b, lora_index) are indexed by row and column instead.
  std::vector<bool> side = loraSideInputs(d);
  for (size_t k = 0; k < d.inputs.size(); ++k)
    if (d.inputs[k].present && !side[k] && d.inputs[k].rank() > int64_t(shape.size())) {
      error = d.op + ": input " + shapeText(d.inputs[k].shape) + " does not broadcast to " + shapeText(shape);
      return false;
    }
  // The fused body over the names GemmEpilogue documents: v, bz, row, col.
  std::vector<std::string> offsets;
  for (size_t k = 0; k < d.inputs.size(); ++k)
    offsets.push_back(side[k] || d.inputs[k].rank() > int64_t(shape.size())
                          ? std::string()
                          : broadcastOffset(d.inputs[k].shape, shape, "bz", "row", "col"));
  // The output's flattened row: C is packed [batch..., M, N].
  std::string row = "((long long)(bz) * " + std::to_string(s.M) + " + (long long)(row))";
  if (!emitEpilogueBody(d, "v", accumulatorKind(s), offsets, row, "col", s.epilogue.code, error))
    return false;
  out = emitGemm(d, s);
  return true;
}

bool emitMatmul(const KernelDesc &d, CudaKernel &out, std::string &error) {
  GemmSpec s;
  if (!describeGemm(d, s, error))
    return false;
  out = emitGemm(d, s);
  return true;
}

} // namespace effc::codegen
