// Split-KV attention, the pair eff-split-kv-decode rewrites eff.attention
// into (flash-decoding):
//
//   eff.attention_partial(q, k, v, mask?) {scale, causal, window,
//       num_kv_heads, num_splits = P}
//     -> o_partial f32 [P, B, Hq, S, Dv], lse f32 [P, B, Hq, S]
//   Split s attends over the keys splitKvChunk cuts out for it
//   (host/SplitKvAttention.h) with eff.attention's semantics: o_partial[s]
//   is that softmax-weighted sum of v, normalized within the chunk, and
//   lse[s] = max_j score_j + ln(sum_j exp(score_j - max)), the natural-log
//   log-sum-exp of the chunk's allowed scores. A chunk with no allowed key
//   (empty, masked, outside the window) gives o = 0, lse = -inf.
//
//   eff.attention_combine(o_partial, lse) {to} -> o [B, Hq, S, Dv] of ONNX
//   dtype `to`: o = sum_s exp(lse_s - M) o_s / sum_s exp(lse_s - M) with
//   M = max_s lse_s; zeros where every lse_s is -inf. out_perm (both ops
//   that write the result, eff.attention and the combine): o is stored as
//   transpose(o, out_perm) (AttentionOutputLayout).
#include "host/AttentionRows.h"

#include "host/SplitKvAttention.h"

#include <algorithm>
#include <cmath>

namespace effc::host {
namespace {

Status attentionPartial(const KernelContext &c) {
  auto problem = readAttentionProblem(c);
  if (!problem.ok())
    return problem.status();
  const AttentionProblem &p = *problem;
  auto splits = c.intAttr("num_splits", 1);
  if (!splits.ok())
    return splits.status();
  if (*splits < 1)
    return c.error("num_splits must be >= 1, got " + std::to_string(*splits));
  const int64_t P = *splits, rows = p.rows(), chunk = splitKvChunk(p.L, P);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::FLOAT32, {P, p.B, p.Hq, p.S, p.Dv}));
  EFFC_RETURN_IF_ERROR(c.checkOut(1, DType::FLOAT32, {P, p.B, p.Hq, p.S}));
  float *o = static_cast<float *>(c.out[0].data), *lse = static_cast<float *>(c.out[1].data);
  parallelFor(P * rows, std::min(chunk, p.L) * (p.D + p.Dv), [&](int64_t t0, int64_t t1) {
    AttentionRowScratch scratch(p.L);
    for (int64_t t = t0; t < t1; ++t) { // t = s * rows + r: the outputs' flat order
      const int64_t s = t / rows, r = t % rows;
      const int64_t j0 = std::min(p.L, s * chunk), j1 = std::min(p.L, j0 + chunk);
      float *acc = o + t * p.Dv;
      RowSoftmax row = attendRow(p, r, j0, j1, scratch, acc);
      for (int64_t d = 0; d < p.Dv; ++d)
        acc[d] = row.sum > 0 ? acc[d] / row.sum : 0.f;
      lse[t] = row.sum > 0 ? row.max + std::log(row.sum) : -INFINITY;
    }
  });
  return Status::OK();
}

Status attentionCombine(const KernelContext &c) {
  const ConstTensorRef &op = c.in[0], &lse = c.in[1];
  EFFC_RETURN_IF_ERROR(c.checkInDType(0, DType::FLOAT32));
  EFFC_RETURN_IF_ERROR(c.checkInDType(1, DType::FLOAT32));
  if (op.shape.size() != 5)
    return c.error("o_partial must be 5-D [splits, B, Hq, S, Dv], got " + shapeToString(op.shape));
  const std::vector<int64_t> rowsShape(op.shape.begin(), op.shape.end() - 1);
  if (lse.shape != rowsShape)
    return c.error("lse " + shapeToString(lse.shape) + " must be o_partial's shape without Dv, " +
                   shapeToString(rowsShape));
  auto to = c.intAttr("to", int64_t(DType::FLOAT32));
  if (!to.ok())
    return to.status();
  if (!isFloatDType(DType(*to)))
    return c.error("to must be a float ONNX data type, got " + std::to_string(*to));
  const int64_t P = op.shape[0], Dv = op.shape[4], rows = op.shape[1] * op.shape[2] * op.shape[3];
  if (P < 1)
    return c.error("o_partial must have at least one split");
  auto layout = attentionOutputLayout(c, {op.shape[1], op.shape[2], op.shape[3], Dv});
  if (!layout.ok())
    return layout.status();
  const AttentionOutputLayout &out = *layout;
  const int64_t Hq = op.shape[2], S = op.shape[3];
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType(*to), out.shape));
  const float *O = static_cast<const float *>(op.data), *LSE = static_cast<const float *>(lse.data);
  parallelFor(rows, P * Dv, [&](int64_t r0, int64_t r1) {
    std::vector<float> acc(static_cast<size_t>(Dv));
    for (int64_t r = r0; r < r1; ++r) {
      float mx = -INFINITY, wsum = 0;
      for (int64_t s = 0; s < P; ++s)
        mx = std::max(mx, LSE[s * rows + r]);
      std::fill(acc.begin(), acc.end(), 0.f);
      if (mx != -INFINITY)
        for (int64_t s = 0; s < P; ++s) {
          const float w = std::exp(LSE[s * rows + r] - mx);
          wsum += w;
          for (int64_t d = 0; d < Dv; ++d)
            acc[d] += w * O[(s * rows + r) * Dv + d];
        }
      const int64_t at = out.offset(r / (S * Hq), (r / S) % Hq, r % S);
      for (int64_t d = 0; d < Dv; ++d)
        storeF(c.out[0].dtype, c.out[0].data, size_t(at + d), wsum > 0 ? acc[d] / wsum : 0.f);
    }
  });
  return Status::OK();
}

} // namespace

void registerSplitKvAttention(Registry &r) {
  r[EffOp::AttentionPartialOp] = {attentionPartial, 3, 4, 2, 2};
  r[EffOp::AttentionCombineOp] = {attentionCombine, 2, 2, 1, 1};
}

} // namespace effc::host
