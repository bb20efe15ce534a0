//===- attention_reference.cuh - naive fp32 attention for checking -------===//
//
// One 128-thread block per query row, scores of the whole row in shared
// memory, expf and fp32 everywhere: the host backend's semantics
// (runtime/src/host/Attention.cpp) on the GPU, fast enough to check the
// flash kernels on benchmark-sized problems by sampling rows. Config C: the
// common attention config (attentionConfigCommon); out is [rows][DV] fp32
// for the rows rowBegin + blockIdx.x.
//
#ifndef EFFC_DEVICE_ATTENTION_REFERENCE_CUH
#define EFFC_DEVICE_ATTENTION_REFERENCE_CUH

#include "attention_common.cuh"

namespace effc_attn {
template <class C>
__device__ __forceinline__ void attention_reference(const void *qv, const void *kv, const void *vv,
                                                    const void *mv, float *out, int rowBegin) {
  typedef typename C::Elem E;
  extern __shared__ float sm[];
  float *sc = sm, *qs = sm + C::L, *red = qs + C::D;
  const int row = rowBegin + int(blockIdx.x), tid = threadIdx.x;
  if (row >= C::B * C::HQ * C::S)
    return;
  const int i = row % C::S, h = (row / C::S) % C::HQ, b = row / (C::S * C::HQ), hk = h / C::GROUP;
  const int pos = i + (C::L - C::S);
  auto ld = [](const E *p) -> float {
    if constexpr (sizeof(E) == 4)
      return *(const float *)p;
    else
      return h16_to_f32<C::BF>(*(const u16 *)p);
  };
  const E *q = (const E *)qv + b * C::QB + h * C::QH + i64(i) * C::QS;
  const E *k = (const E *)kv + b * C::KB + hk * C::KH;
  const E *v = (const E *)vv + b * C::VB + hk * C::VH;
  for (int d = tid; d < C::D; d += 128)
    qs[d] = ld(q + d);
  __syncthreads();
  float mx = -EFFC_INF_F;
  for (int j = tid; j < C::L; j += 128) {
    bool ok = (!C::CAUSAL || j <= pos) && (C::WINDOW == 0 || j > pos - C::WINDOW);
    float sv = -EFFC_INF_F;
    if (ok) {
      float dot = 0.0f;
      for (int d = 0; d < C::D; ++d)
        dot += qs[d] * ld(k + i64(j) * C::KS + d);
      sv = scaled_score<C>(dot);
      if constexpr (C::ALIBI)
        sv += C::alibi_slope(h) * float(j - pos);
      if constexpr (C::MASK != 0) {
        const float mval =
            mask_value<C::MASK>(mv, b * C::MB + h * C::MH + i64(i) * C::MS + i64(j) * C::ML);
        if constexpr (C::MASK == 1)
          ok = mval == 0.0f;
        else
          sv += mval;
      }
      if (sv == -EFFC_INF_F)
        ok = false;
    }
    sc[j] = ok ? sv : -EFFC_INF_F;
    mx = fmaxf(mx, sc[j]);
  }
  mx = warp_reduce(mx, [](float a, float b) { return fmaxf(a, b); });
  if ((tid & 31) == 0)
    red[tid >> 5] = mx;
  __syncthreads();
  mx = fmaxf(fmaxf(red[0], red[1]), fmaxf(red[2], red[3]));
  if constexpr (C::SINKS)
    mx = fmaxf(mx, C::sink(h));
  __syncthreads();
  float sum = 0.0f;
  for (int j = tid; j < C::L; j += 128) {
    const float p = sc[j] == -EFFC_INF_F ? 0.0f : expf(sc[j] - mx);
    sc[j] = p;
    sum += p;
  }
  sum = warp_reduce(sum, SumOp());
  if ((tid & 31) == 0)
    red[tid >> 5] = sum;
  __syncthreads();
  sum = red[0] + red[1] + red[2] + red[3];
  if constexpr (C::SINKS) // one more key with no value
    sum += expf(C::sink(h) - mx);
  for (int d = tid; d < C::DV; d += 128) {
    float acc = 0.0f;
    if (sum > 0.0f)
      for (int j = 0; j < C::L; ++j)
        if (sc[j] != 0.0f)
          acc += sc[j] * ld(v + i64(j) * C::VS + d);
    out[i64(blockIdx.x) * C::DV + d] = sum > 0.0f ? acc / sum : 0.0f;
  }
}
} // namespace effc_attn

#endif // EFFC_DEVICE_ATTENTION_REFERENCE_CUH
