// eff.attention (effc's own op): softmax(scale * q k^T + mask) v with GQA,
// causal and sliding-window masking; semantics in AttentionRows.h.
#include "host/AttentionRows.h"

namespace effc::host {
namespace {

Status attention(const KernelContext &c) {
  auto problem = readAttentionProblem(c);
  if (!problem.ok())
    return problem.status();
  const AttentionProblem &p = *problem;
  auto layout = attentionOutputLayout(c, {p.B, p.Hq, p.S, p.Dv});
  if (!layout.ok())
    return layout.status();
  const AttentionOutputLayout &out = *layout;
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, out.shape));
  parallelFor(p.rows(), p.L * (p.D + p.Dv), [&](int64_t r0, int64_t r1) {
    AttentionRowScratch scratch(p.L);
    std::vector<float> acc(size_t(p.Dv));
    for (int64_t r = r0; r < r1; ++r) {
      RowSoftmax row = attendRow(p, r, 0, p.L, scratch, acc.data());
      const int64_t at = out.offset(r / (p.S * p.Hq), (r / p.S) % p.Hq, r % p.S);
      for (int64_t d = 0; d < p.Dv; ++d)
        storeF(c.out[0].dtype, c.out[0].data, size_t(at + d), row.sum > 0 ? acc[d] / row.sum : 0.f);
    }
  });
  return Status::OK();
}

} // namespace

void registerAttention(Registry &r) { r[EffOp::AttentionOp] = {attention, 3, 4, 1, 1}; }

} // namespace effc::host
