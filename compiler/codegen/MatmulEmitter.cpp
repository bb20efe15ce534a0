//===- MatmulEmitter.cpp - matmul/gemm/gemm_epilogue -> GemmSpec -----------===//
//
// describeGemm (gemm/GemmSpec.cpp) turns the op into a GemmSpec; an eff.fusion
// gemm_epilogue adds the rest of its body as the spec's epilogue, rendered
// once by the elementwise emitters' scalar-expression code.
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "compiler/codegen/gemm/Gemm.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"
#include "compiler/codegen/gemm/WgmmaGemm.h"

#include <algorithm>

namespace effc::codegen {
namespace {

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
      add("((long long)(" + batch + ")" + (inner == 1 ? "" : " / " + std::to_string(inner)) +
          " % " + std::to_string(out[d]) + ") * " + std::to_string(st[d]));
    inner *= out[d];
  }
  if (st[r - 2])
    add("(long long)(" + m + ") * " + std::to_string(st[r - 2]));
  if (st[r - 1])
    add("(long long)(" + n + ") * " + std::to_string(st[r - 1]));
  return off.empty() ? "0" : off;
}

/// The GemmSpec of a gemm_epilogue fusion: its GEMM with the rest of the
/// body as the epilogue.
bool describeGemmEpilogue(const KernelDesc &d, GemmSpec &s, std::string &error) {
  if (d.body.empty() || d.outputs.size() != 1) {
    error = d.op + ": gemm_epilogue needs a body and one output";
    return false;
  }
  const FusedOp &gemm = d.body[0];
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
    error = d.op + ": gemm_epilogue output " + shapeText(d.outputs[0].shape) +
            " is not the GEMM's [batch..., M, N]";
    return false;
  }
  // LoRA operands (t, b, lora_index) are indexed by row and column instead.
  std::vector<bool> side = loraSideInputs(d);
  for (size_t k = 0; k < d.inputs.size(); ++k)
    if (d.inputs[k].present && !side[k] && d.inputs[k].rank() > int64_t(shape.size())) {
      error = d.op + ": input " + shapeText(d.inputs[k].shape) + " does not broadcast to " +
              shapeText(shape);
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
  return emitEpilogueBody(d, "v", accumulatorKind(s), offsets, row, "col", s.epilogue.code, error);
}

using DescribeFn = bool (*)(const KernelDesc &, GemmSpec &, std::string &);

/// The artifact's target and effc --gemm: sm_90a artifacts (all but --gemm=mma)
/// may take the wgmma kernels; the TMA one (auto, tma) takes tensor maps,
/// which the runtime encodes from the manifest (Kernel.tensor_maps).
/// effc --decode-gemv is a preference: a GEMM it does not apply to (B
/// stored [N, K]) keeps the default decode kernel.
void applyTarget(const KernelDesc &d, GemmSpec &s) {
  s.sm90a = d.sm90a && d.gemm != GemmKernelChoice::Mma;
  s.tma = d.gemm == GemmKernelChoice::Auto || d.gemm == GemmKernelChoice::Tma;
  s.decodeGemv = d.decodeGemv;
  tcgemm::DecodeGemv unused;
  if (std::string why; !s.decodeGemv.empty() && !tcgemm::chooseDecodeGemv(s, unused, why))
    s.decodeGemv.clear();
}

/// Why an sm_90a GEMM that could run on tensor cores is not on the kernel
/// --gemm prefers, or, for one whose M follows the dims, which kernel it
/// got and at what M its tile and split were chosen ("" otherwise: a static
/// GEMM on the preferred kernel).
std::string gemmRemark(const KernelDesc &d, const GemmSpec &s) {
  if (!d.sm90a || d.gemm == GemmKernelChoice::Mma)
    return "";
  const std::string who = d.op + " " + std::to_string(s.M) + "x" + std::to_string(s.N) + "x" +
                          std::to_string(s.K) + ": ";
  // The non-TMA kernels over runtime rows: tile chosen at the planned M,
  // the grid's row tiles and the stores follow the run's.
  const std::string rows = s.hasRuntimeRows() ? " over runtime rows (M = " + s.runtimeRows.text() +
                                                    " up to " + std::to_string(s.M) +
                                                    ": the grid and stores follow the run's M)"
                                              : "";
  // A decode-sized run (tcgemm::decodeRows) takes the decode path.
  const std::string decode = tcgemm::decodeRows(s)
                                 ? "; runs of at most " + std::to_string(tcgemm::decodeRows(s)) +
                                       " rows take the decode path over the launch's CTAs"
                                 : "";
  if (!usesWgmma(s)) {
    if (!usesTensorCores(s))
      return ""; // fp32/fp64/integer GEMMs take the FFMA kernel on every arch
    return who + "mma.sync kernel, not wgmma (" + wgmma::unsupportedReason(s) + ")" + rows + decode;
  }
  if (s.tma && !wgmma::usesTma(s))
    return who + "cp.async wgmma kernel, not TMA (" + wgmma::tmaUnsupportedReason(s) + ")" + rows +
           decode;
  if (s.hasRuntimeRows() && wgmma::usesTma(s))
    return who + "TMA wgmma kernel " + wgmma::kernelVariant(s) +
           " over runtime rows (M = " + s.runtimeRows.text() + " up to " + std::to_string(s.M) +
           ": maps, tile and split-K chosen at " + std::to_string(s.M) +
           " rows; the grid and stores follow the run's M" + decode + ")";
  return "";
}

/// The tensor-core kernel with the tile chooseTile picks, else the FFMA
/// kernel; the launch is planGemm's (the one emitGemm launches with), no text.
bool chooseGemmKernel(DescribeFn describe, const KernelDesc &d, KernelChoice &c,
                      std::string &error) {
  GemmSpec s;
  if (!describe(d, s, error))
    return false;
  applyTarget(d, s);
  CudaKernel k = planGemm(d, s);
  c.launch = k.launch;
  c.remark = gemmRemark(d, s);
  c.needsGemmPrelude = k.needsGemmPrelude;
  c.needsHopperPrelude = k.needsHopperPrelude;
  c.setParam("M", s.M);
  c.setParam("N", s.N);
  c.setParam("K", s.K);
  if (!usesTensorCores(s)) {
    c.variant = "ffma";
    return true;
  }
  bool hopper = usesWgmma(s);
  if (hopper && wgmma::usesTma(s)) {
    // The persistent kernel's tile (its ring may be shorter than
    // chooseTile's to fit the split-K buffer) and split; A's and B's maps.
    const TileConfig t = wgmma::tmaTile(s);
    c.variant = "wgmma-tma";
    c.setParam("bm", t.bm);
    c.setParam("bn", t.bn);
    c.setParam("bk", t.bk);
    c.setParam("stages", t.stages);
    c.setParam("split", wgmma::splitK(s));
    c.tensorMaps = wgmma::tmaMaps(s);
    if (tcgemm::decodeRows(s))
      c.setParam("decode_rows", tcgemm::decodeRows(s));
    return true;
  }
  TileConfig t = hopper ? wgmma::chooseTile(s) : tcgemm::chooseTile(s);
  c.variant = hopper ? "wgmma" : "mma";
  c.setParam("bm", t.bm);
  c.setParam("bn", t.bn);
  c.setParam("bk", t.bk);
  c.setParam("warps_m", t.warpsM);
  c.setParam("warps_n", t.warpsN);
  c.setParam("stages", t.stages);
  if (tcgemm::decodeRows(s))
    c.setParam("decode_rows", tcgemm::decodeRows(s));
  return true;
}

bool instantiateGemmKernel(DescribeFn describe, const KernelDesc &d, const KernelChoice &c,
                           std::string &source, std::string &error) {
  GemmSpec s;
  if (!describe(d, s, error))
    return false;
  applyTarget(d, s);
  CudaKernel k = emitGemm(d, s);
  const LaunchDims &a = k.launch, &b = c.launch;
  if (!std::equal(a.grid, a.grid + 3, b.grid) || !std::equal(a.block, a.block + 3, b.block) ||
      a.sharedBytes != b.sharedBytes) {
    error = d.op + ": the GEMM generator's launch differs from the planned one";
    return false;
  }
  source = std::move(k.source);
  return true;
}

} // namespace

namespace {

/// Runtime extents in a matmul: only M, A's leading dims, with a 2-D B that
/// broadcasts over them. The product then is one [M, K] x [K, N] GEMM over
/// A's and Y's contiguous rows, planned at the largest M; rows past the
/// run's M read and write inside the planned (largest) buffers, and their
/// values are never read (whole tiles past it return at once).
bool runtimeRowsMatmul(const KernelDesc &d, KernelDesc &flat, std::string &error) {
  const TensorDesc &a = d.inputs[0], &b = d.inputs[1], &y = d.outputs[0];
  // eff.gemm: A [M, K] not transposed; a bias that does not vary along M.
  bool gemm = d.is(EffOp::GemmOp) && d.intAttr("transA", op_defaults::GemmOp_transA) == 0 &&
              (!d.hasInput(2) ||
               (!d.inputs[2].symbolic() && (d.inputs[2].rank() < 2 || d.inputs[2].shape[0] == 1)));
  bool matmul = d.is(EffOp::MatMulOp) && d.inputs.size() == 2;
  if (!(gemm || matmul) || b.symbolic() || b.rank() != 2 || a.rank() < 2 || y.rank() != a.rank() ||
      !a.extents().back().isConstant() || !y.extents().back().isConstant()) {
    error = d.op + ": runtime extents in a GEMM other than M (A's leading dims times a 2-D B, "
                   "a bias without M) are not done yet (issue 14 stage S3)";
    return false;
  }
  flat = d;
  for (TensorDesc *t : {&flat.inputs[0], &flat.outputs[0]}) {
    Extent rows = 1;
    int64_t maxRows = 1;
    const std::vector<Extent> extents = t->extents();
    for (int64_t r = 0; r + 1 < t->rank(); ++r) {
      rows *= extents[r];
      maxRows *= t->shape[r];
    }
    t->shape = {maxRows, t->shape.back()};
    t->symShape = {rows, extents.back()};
  }
  return true;
}

bool describeRuntimeRowsGemm(const KernelDesc &flat, GemmSpec &s, std::string &error) {
  if (!describeGemm(flat, s, error))
    return false;
  s.runtimeRows = flat.outputs[0].symShape[0];
  return true;
}

/// Runtime extents in a gemm_epilogue: its GEMM as runtimeRowsMatmul takes
/// it (rows = M), the output [rows, N] and every epilogue input of the
/// output's extents flattened alike, static inputs broadcasting along N only
/// (a bias [N]). LoRA side inputs are refused.
bool runtimeRowsEpilogue(const KernelDesc &d, KernelDesc &flat, std::string &error) {
  if (d.body.empty() || d.outputs.size() != 1) {
    error = d.op + ": gemm_epilogue needs a body and one output";
    return false;
  }
  KernelDesc gemm;
  if (!runtimeRowsMatmul(d.body[0].desc, gemm, error))
    return false;
  flat = d;
  flat.body[0].desc = gemm;
  const std::vector<Extent> out = d.outputs[0].extents();
  auto flatten = [&](TensorDesc &t) {
    t.shape = gemm.outputs[0].shape;
    t.symShape = gemm.outputs[0].symShape;
  };
  const std::vector<bool> side = loraSideInputs(d);
  const std::vector<int> &operands = d.body[0].operands;
  for (size_t k = 0; k < flat.inputs.size(); ++k) {
    TensorDesc &t = flat.inputs[k];
    if (!t.present || (operands.size() > 1 && int(k) == operands[1]))
      continue; // B: 2-D and static (runtimeRowsMatmul)
    if (side[k]) {
      error = d.op + ": LoRA terms in a GEMM epilogue over runtime rows are not done yet (issue "
                     "14 stage S3)";
      return false;
    }
    if (int(k) == operands.at(0)) {
      t = gemm.inputs[0];
    } else if (t.symbolic()) {
      if (t.extents() != out) {
        error = d.op + ": epilogue input " + std::to_string(k) +
                " has runtime extents other than the output's; not done yet (issue 14 stage S3)";
        return false;
      }
      flatten(t);
    } else if (t.rank() > 0) {
      if (std::any_of(t.shape.begin(), t.shape.end() - 1, [](int64_t e) { return e != 1; })) {
        error = d.op + ": epilogue input " + std::to_string(k) + " " + shapeText(t.shape) +
                " varies along the runtime rows; not done yet (issue 14 stage S3)";
        return false;
      }
      t.shape = {t.shape.back()};
    }
  }
  flatten(flat.outputs[0]);
  for (size_t i = 1; i < flat.body.size(); ++i)
    for (auto *list : {&flat.body[i].desc.inputs, &flat.body[i].desc.outputs})
      for (TensorDesc &t : *list)
        if (t.present && t.symbolic() && t.extents() == out)
          flatten(t);
  return true;
}

bool describeRuntimeRowsEpilogue(const KernelDesc &flat, GemmSpec &s, std::string &error) {
  if (!describeGemmEpilogue(flat, s, error))
    return false;
  s.runtimeRows = flat.outputs[0].symShape[0];
  return true;
}

} // namespace

bool chooseGemmEpilogue(const KernelDesc &d, KernelChoice &c, std::string &error) {
  KernelDesc flat;
  if (d.usesDims())
    return runtimeRowsEpilogue(d, flat, error) &&
           chooseGemmKernel(describeRuntimeRowsEpilogue, flat, c, error);
  return chooseGemmKernel(describeGemmEpilogue, d, c, error);
}

bool instantiateGemmEpilogue(const KernelDesc &d, const KernelChoice &c, std::string &source,
                             std::string &error) {
  KernelDesc flat;
  if (d.usesDims())
    return runtimeRowsEpilogue(d, flat, error) &&
           instantiateGemmKernel(describeRuntimeRowsEpilogue, flat, c, source, error);
  return instantiateGemmKernel(describeGemmEpilogue, d, c, source, error);
}

bool chooseMatmul(const KernelDesc &d, KernelChoice &c, std::string &error) {
  KernelDesc flat;
  if (d.usesDims())
    return runtimeRowsMatmul(d, flat, error) &&
           chooseGemmKernel(describeRuntimeRowsGemm, flat, c, error);
  return chooseGemmKernel(describeGemm, d, c, error);
}

bool instantiateMatmul(const KernelDesc &d, const KernelChoice &c, std::string &source,
                       std::string &error) {
  KernelDesc flat;
  if (d.usesDims())
    return runtimeRowsMatmul(d, flat, error) &&
           instantiateGemmKernel(describeRuntimeRowsGemm, flat, c, source, error);
  return instantiateGemmKernel(describeGemm, d, c, source, error);
}

} // namespace effc::codegen
