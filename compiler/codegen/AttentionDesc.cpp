//===- AttentionDesc.cpp - an attention kernel op as an AttentionSpec -----===//
#include "compiler/codegen/AttentionDesc.h"

#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "host/AttentionOutPerm.h"

#include <algorithm>
#include <cmath>

namespace effc::codegen {

std::optional<std::array<int64_t, 4>> attentionOutPerm(const KernelDesc &d, std::string &error) {
  std::array<int64_t, 4> perm = {0, 1, 2, 3};
  std::optional<std::vector<int64_t>> given = d.intsAttr("out_perm");
  if (!given)
    return perm;
  if (!host::isAttentionOutPerm(*given)) {
    error = d.op + ": out_perm must be a permutation of 0..3 with out_perm[3] = 3, got " +
            shapeText(*given);
    return std::nullopt;
  }
  std::copy(given->begin(), given->end(), perm.begin());
  return perm;
}

std::optional<AttentionSpec> attentionSpecOf(const KernelDesc &d, std::string &error) {
  if (d.inputs.size() < 3 || d.inputs.size() > 4) {
    error = d.op + ": expected q, k, v and an optional mask";
    return std::nullopt;
  }
  const TensorDesc &q = d.inputs[0], &k = d.inputs[1], &v = d.inputs[2];
  if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) {
    error = d.op + ": q, k, v must be 4-D [batch, heads, seq, head_dim]";
    return std::nullopt;
  }
  for (const TensorDesc *t : {&q, &k, &v})
    if (!isFloatCompute(computeOf(t->dtype))) {
      error = d.op + ": q, k, v must be float tensors";
      return std::nullopt;
    }
  const int64_t B = q.shape[0], Hq = q.shape[1], D = q.shape[3], Hkv = k.shape[1], L = k.shape[2];
  if (k.shape[0] != B || v.shape[0] != B || k.shape[3] != D || v.shape[1] != Hkv ||
      v.shape[2] != L || Hkv <= 0 || Hq % Hkv) {
    error = d.op + ": inconsistent shapes q " + shapeText(q.shape) + ", k " + shapeText(k.shape) +
            ", v " + shapeText(v.shape);
    return std::nullopt;
  }
  DType maskDType = DType::UNDEFINED;
  std::vector<int64_t> maskShape;
  if (d.hasInput(3)) {
    const TensorDesc &m = d.inputs[3];
    if (m.dtype != DType::BOOL && !isFloatCompute(computeOf(m.dtype))) {
      error = d.op + ": mask must be bool or float";
      return std::nullopt;
    }
    if (m.rank() > 4) {
      error = d.op + ": mask " + shapeText(m.shape) + " has rank > 4";
      return std::nullopt;
    }
    maskDType = m.dtype;
    maskShape = m.shape;
  }
  AttentionSpec spec =
      packedAttentionSpec(q.dtype, q.shape, k.shape, v.shape, maskDType, maskShape);
  spec.scale = float(d.floatAttr("scale", D > 0 ? 1.0 / std::sqrt(double(D)) : 1.0));
  spec.causal = d.intAttr("causal", 0) != 0;
  spec.window = d.intAttr("window", op_defaults::AttentionOp_window);
  spec.softcap = float(d.floatAttr("softcap", op_defaults::AttentionOp_softcap));
  for (auto [name, values] :
       {std::pair<const char *, std::vector<float> *>{"alibi_slopes", &spec.alibiSlopes},
        {"sinks", &spec.sinks}}) {
    auto it = d.attrs.find(name);
    if (it == d.attrs.end())
      continue;
    const auto *list = std::get_if<std::vector<double>>(&it->second);
    if (!list || int64_t(list->size()) != Hq) {
      error = d.op + ": " + name + " must be " + std::to_string(Hq) + " floats";
      return std::nullopt;
    }
    values->assign(list->begin(), list->end());
  }
  // The artifact ABI has one parameter per operand slot of the op.
  spec.maskParam = d.inputs.size() == 4;
  // eff.attention's output through out_perm (attention_partial has none: its
  // results are [splits, B, Hq, S, *]).
  std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
  if (!perm)
    return std::nullopt;
  if (*perm != std::array<int64_t, 4>{0, 1, 2, 3}) {
    if (d.outputs.size() != 1 || d.outputs[0].rank() != 4 ||
        attentionLogicalShape(*perm, d.outputs[0].shape) !=
            std::array<int64_t, 4>{B, Hq, q.shape[2], v.shape[3]}) {
      error = d.op + ": the output is not [B, Hq, S, Dv] through out_perm";
      return std::nullopt;
    }
    auto [ob, oh, os] = attentionOutputStrides(*perm, d.outputs[0].shape);
    spec.o = {ob, oh, os};
  }
  return spec;
}

std::optional<AttentionRuntimeExtents> attentionRuntimeExtentsOf(const KernelDesc &d,
                                                                 std::string &error) {
  if (d.inputs.size() < 3 || d.outputs.empty()) {
    error = d.op + ": expected q, k, v and an output";
    return std::nullopt;
  }
  for (const TensorDesc *t : {&d.inputs[0], &d.inputs[1], &d.inputs[2]})
    if (t->rank() != 4 || !t->extents()[1].isConstant() || !t->extents()[3].isConstant()) {
      error = d.op + ": runtime heads or head dims are not supported";
      return std::nullopt;
    }
  const std::vector<Extent> q = d.inputs[0].extents(), k = d.inputs[1].extents(),
                            v = d.inputs[2].extents();
  AttentionRuntimeExtents rt;
  rt.B = q[0], rt.S = q[2], rt.L = k[2];
  // Packed row-major strides {batch, head, seq}.
  auto packed = [](const std::vector<Extent> &s) {
    return std::array<Extent, 3>{s[1] * s[2] * s[3], s[2] * s[3], s[3]};
  };
  // K/V in session state: [b, h] slices `capacity` rows apart.
  auto kv = [&](const TensorDesc &t, const std::vector<Extent> &s) {
    if (t.capacity == 0)
      return packed(s);
    return std::array<Extent, 3>{s[1] * Extent(t.capacity) * s[3], Extent(t.capacity) * s[3], s[3]};
  };
  rt.q = packed(q), rt.k = kv(d.inputs[1], k), rt.v = kv(d.inputs[2], v);
  std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
  if (!perm)
    return std::nullopt;
  if (*perm == std::array<int64_t, 4>{0, 1, 2, 3}) {
    rt.o = packed({q[0], q[1], q[2], v[3]});
  } else if (d.outputs[0].rank() == 4) { // eff.attention's output through out_perm
    rt.o = attentionOutputStrides(*perm, d.outputs[0].extents());
  } else {
    error = d.op + ": out_perm needs a 4-D output";
    return std::nullopt;
  }
  rt.mask = {Extent(0), Extent(0), Extent(0), Extent(0)};
  if (d.hasInput(3)) { // row-major at this run's extents, 0 where it broadcasts
    const std::vector<Extent> ms = d.inputs[3].extents();
    const size_t off = 4 - ms.size();
    Extent stride = 1;
    for (size_t r = ms.size(); r-- > 0;) {
      rt.mask[off + r] = ms[r] == Extent(1) ? Extent(0) : stride;
      stride *= ms[r];
    }
  }
  return rt;
}

} // namespace effc::codegen
