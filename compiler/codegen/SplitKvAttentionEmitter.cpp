//===- SplitKvAttentionEmitter.cpp - attention_partial / attention_combine ===//
//
// The two ops eff-split-kv-decode makes of a decode-shaped eff.attention run
// the split-KV decode generator's two kernels (attention/FlashDecode.cpp):
// the partial kernel writes o_partial and lse (the op's results, planned in
// the arena like any intermediate) and the combine kernel reduces them. The
// split count is the op's num_splits, chosen by the pass.
//
// Bounded symbolic dims: the spec holds the upper bounds (the split count and
// tiles are planned there) and both kernels read the run's batch, query and
// key lengths from effc_dims; the run's keys are cut by splitKvChunk at the
// run's length, as the host kernel cuts them.
//
// f32 q/k/v go through the generator's f16 mma operands (as FA2 under
// EFFC_FA2_F32=1): not exact to 1e-4, which is why the pass never splits
// fp32 attention.
//
#include "compiler/codegen/AttentionDesc.h"
#include "compiler/codegen/Families.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/core/EmitterUtil.h"

namespace effc::codegen {

namespace {

/// The spec and split count of an eff.attention_partial the split-KV decode
/// kernel runs.
bool partialSpec(const KernelDesc &d, AttentionSpec &out, int64_t &splits, std::string &error) {
  std::optional<AttentionSpec> spec = attentionSpecOf(d, error);
  if (!spec)
    return false;
  splits = d.intAttr("num_splits", 1);
  const std::vector<int64_t> partial{splits, spec->B, spec->Hq, spec->S, spec->Dv};
  const std::vector<int64_t> lse{splits, spec->B, spec->Hq, spec->S};
  if (d.outputs.size() != 2 || d.outputs[0].shape != partial || d.outputs[1].shape != lse ||
      d.outputs[0].dtype != DType::FLOAT32 || d.outputs[1].dtype != DType::FLOAT32) {
    error = d.op + ": expected f32 results " + shapeText(partial) + " and " + shapeText(lse);
    return false;
  }
  if (d.inputs[1].dtype != spec->dtype || d.inputs[2].dtype != spec->dtype) {
    error = d.op + ": q, k, v must share one dtype";
    return false;
  }
  if (!flashDecodeApplicable(*spec)) {
    std::string why = flashAttentionUnsupported(*spec);
    error = d.op + ": the split-KV decode kernel cannot run it: " +
            (why.empty() ? "more than 16 queries" : why);
    return false;
  }
  if (splits < 1 || splits > 65535) {
    error = d.op + ": num_splits " + std::to_string(splits) + " is out of range";
    return false;
  }
  out = *spec;
  return true;
}

/// The runtime extents of a kernel with bounded symbolic dims (nullopt and no
/// error for a static one).
bool runtimeOf(const KernelDesc &d, std::optional<AttentionRuntimeExtents> &rt,
               std::string &error) {
  if (!d.usesDims() && (d.inputs[1].capacity || d.inputs[2].capacity)) {
    error = d.op + ": keys/values in session state need runtime extents";
    return false;
  }
  if (!d.usesDims())
    return true;
  rt = attentionRuntimeExtentsOf(d, error);
  return rt.has_value();
}

/// The combine's runtime extents: B and S from o [B,Hq,S,Dv] and o's packed
/// strides (the rest unused).
bool combineRuntimeOf(const KernelDesc &d, std::optional<AttentionRuntimeExtents> &rt,
                      std::string &error) {
  if (!d.usesDims())
    return true;
  std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
  if (!perm)
    return false;
  const std::vector<Extent> stored = d.outputs[0].extents();
  const std::array<Extent, 4> o = attentionLogicalShape(*perm, stored);
  if (!o[1].isConstant() || !o[3].isConstant()) {
    error = d.op + ": runtime heads or head dims are not supported";
    return false;
  }
  AttentionRuntimeExtents r;
  r.B = o[0], r.S = o[2], r.L = Extent(0);
  r.o = attentionOutputStrides(*perm, stored);
  r.q = r.k = r.v = {Extent(0), Extent(0), Extent(0)};
  r.mask = {Extent(0), Extent(0), Extent(0), Extent(0)};
  rt = r;
  return true;
}

/// The output spec of an eff.attention_combine and its split count.
bool combineSpec(const KernelDesc &d, AttentionSpec &spec, int64_t &splits, std::string &error) {
  if (d.inputs.size() != 2 || d.outputs.size() != 1) {
    error = d.op + ": expected o_partial, lse and one output";
    return false;
  }
  const TensorDesc &partial = d.inputs[0], &lse = d.inputs[1], &o = d.outputs[0];
  // o is [B, Hq, S, Dv] stored through out_perm.
  std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
  if (!perm)
    return false;
  if (partial.rank() != 5 || o.rank() != 4 || partial.dtype != DType::FLOAT32 ||
      lse.dtype != DType::FLOAT32 ||
      lse.shape != std::vector<int64_t>(partial.shape.begin(), partial.shape.end() - 1) ||
      attentionLogicalShape(*perm, o.shape) !=
          std::array<int64_t, 4>{partial.shape[1], partial.shape[2], partial.shape[3],
                                 partial.shape[4]}) {
    error = d.op + ": inconsistent shapes o_partial " + shapeText(partial.shape) + ", lse " +
            shapeText(lse.shape) + ", o " + shapeText(o.shape);
    return false;
  }
  spec.B = partial.shape[1], spec.Hq = partial.shape[2], spec.S = partial.shape[3],
  spec.Dv = partial.shape[4];
  const auto [ob, oh, os] = attentionOutputStrides(*perm, o.shape);
  spec.o = {ob, oh, os};
  spec.dtype = o.dtype;
  splits = partial.shape[0];
  bool dtypeOk =
      o.dtype == DType::FLOAT32 || o.dtype == DType::FLOAT16 || o.dtype == DType::BFLOAT16;
  if (!dtypeOk || splits < 1 || spec.B < 1 || spec.Hq < 1 || spec.S < 1 || spec.Dv < 1) {
    error = d.op + ": output must be f32, f16 or bf16 and non-empty";
    return false;
  }
  return true;
}

} // namespace

bool chooseAttentionPartial(const KernelDesc &d, KernelChoice &c, std::string &error) {
  AttentionSpec spec;
  int64_t splits = 0;
  std::optional<AttentionRuntimeExtents> rt;
  if (!partialSpec(d, spec, splits, error) || !runtimeOf(d, rt, error))
    return false;
  c.variant = "flash-decode-partial";
  c.setParam("splits", splits);
  c.launch = flashDecodePartialLaunch(spec, int(splits), rt ? &*rt : nullptr);
  c.needsAttentionPrelude = true;
  return true;
}

bool instantiateAttentionPartial(const KernelDesc &d, const KernelChoice &c, std::string &source,
                                 std::string &error) {
  AttentionSpec spec;
  int64_t splits = 0;
  std::optional<AttentionRuntimeExtents> rt;
  if (!partialSpec(d, spec, splits, error) || !runtimeOf(d, rt, error))
    return false;
  source = "// " + d.op + "\n" +
           emitFlashDecodePartial(spec, int(splits), d.name, nullptr, rt ? &*rt : nullptr);
  return true;
}

bool chooseAttentionCombine(const KernelDesc &d, KernelChoice &c, std::string &error) {
  AttentionSpec spec;
  int64_t splits = 0;
  std::optional<AttentionRuntimeExtents> rt;
  if (!combineSpec(d, spec, splits, error) || !combineRuntimeOf(d, rt, error))
    return false;
  c.variant = "flash-decode-combine";
  c.setParam("splits", splits);
  c.launch = flashDecodeCombineLaunch(spec, rt ? &*rt : nullptr);
  c.needsAttentionPrelude = true;
  return true;
}

bool instantiateAttentionCombine(const KernelDesc &d, const KernelChoice &c, std::string &source,
                                 std::string &error) {
  AttentionSpec spec;
  int64_t splits = 0;
  std::optional<AttentionRuntimeExtents> rt;
  if (!combineSpec(d, spec, splits, error) || !combineRuntimeOf(d, rt, error))
    return false;
  source = "// " + d.op + "\n" +
           emitFlashDecodeCombine(spec, int(splits), d.name, nullptr, rt ? &*rt : nullptr);
  return true;
}

} // namespace effc::codegen
