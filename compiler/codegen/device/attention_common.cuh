//===- attention_common.cuh - helpers of the attention kernel templates ---===//
//
// Shared by the FlashAttention-2 forward, split-KV decode and reference
// templates (namespace effc_attn): exp2/log2, mask values, tile loads into
// shared memory and the per-row online-softmax update. The kernel bodies are
// templates over a per-kernel config struct (emitted by FlashAttention.cpp /
// FlashDecode.cpp) so that every shape and attribute is a compile-time
// constant and each kernel is a thin EFFC_KERNEL wrapper.
//
#ifndef EFFC_DEVICE_ATTENTION_COMMON_CUH
#define EFFC_DEVICE_ATTENTION_COMMON_CUH

#include "primitives.cuh"

namespace effc_attn {
// The config structs spell effc_attn::u16 / effc_attn::i64.
using ::i64;
using ::u16;
using ::u32;
using ::u8;

#define EFFC_ATTN_LOG2E 1.4426950408889634f
#define EFFC_ATTN_LN2 0.6931471805599453f

// 16-bit storage -> float: BF selects bf16, else fp16.
template <bool BF> __device__ __forceinline__ float h16_to_f32(u16 x) {
  if constexpr (BF)
    return bf16_to_f32(x);
  else
    return cvt_f16_to_f32(x);
}

// The extents an attention kernel runs at. A static config (every extent a
// constant) gives its constants, which fold away. A config with RUNTIME_DIMS
// (bounded symbolic dims: its constants are the upper bounds) gives the values
// of this run: its extents(effc_dims) reads the run's dims (batch, query and
// key lengths, and the strides that depend on them).
struct attn_ext {
  int B, S, L;
  i64 QB, QH, QS, KB, KH, KS, VB, VH, VS, OB, OH, OS, MB, MH, MS, ML;
};
template <class C, class = void> struct attn_runtime {
  static constexpr bool value = false;
};
template <class C> struct attn_runtime<C, decltype(void(C::RUNTIME_DIMS))> {
  static constexpr bool value = C::RUNTIME_DIMS;
};
template <class C> __device__ __forceinline__ attn_ext attn_extents(const long long *effc_dims) {
  if constexpr (attn_runtime<C>::value)
    return C::extents(effc_dims);
  else
    return attn_ext{C::B,  C::S,  C::L,  C::QB, C::QH, C::QS, C::KB, C::KH, C::KS, C::VB,
                    C::VH, C::VS, C::OB, C::OH, C::OS, C::MB, C::MH, C::MS, C::ML};
}

// 2^x (MUFU); ex2(-inf) = 0.
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float lg2(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Mask kinds: 0 none, 1 bool (bytes), 2 f32, 3 f16, 4 bf16 additive. Returns
// the additive term; a false bool entry is -inf.
template <int KIND> __device__ __forceinline__ float mask_value(const void *m, i64 idx) {
  if constexpr (KIND == 1)
    return ((const u8 *)m)[idx] ? 0.0f : -EFFC_INF_F;
  else if constexpr (KIND == 2)
    return ((const float *)m)[idx];
  else if constexpr (KIND == 3)
    return cvt_f16_to_f32(((const u16 *)m)[idx]);
  else if constexpr (KIND == 4)
    return bf16_to_f32(((const u16 *)m)[idx]);
  else
    return 0.0f;
}

// The score of q.k in natural units: SCALE * qk, soft-capped to
// SOFTCAP * tanh(SCALE * qk / SOFTCAP) when SOFTCAP > 0 (before any mask).
template <class C> __device__ __forceinline__ float scaled_score(float qk) {
  if constexpr (C::SOFTCAP > 0.0f)
    return C::SOFTCAP * tanhf(qk * (C::SCALE / C::SOFTCAP));
  else
    return qk * C::SCALE;
}

// Copies ROWS rows of DREAL elements (16-bit or f32 storage E) into a shared
// tile of 16-bit values, DPAD columns (zero-filled beyond DREAL), row stride
// SSTR elements. row(r) gives the global row or nullptr (zero-filled row).
// 16-bit storage goes through cp.async (completion via commit/wait groups);
// f32 storage is loaded, converted to f16 and stored synchronously.
template <class E, bool BF>
__device__ __forceinline__ void copy_chunk(u32 dst, const E *src, bool ok, const E *fallback) {
  if constexpr (sizeof(E) == 2) {
    cp_async16(dst, ok ? (const void *)src : (const void *)fallback, ok ? 16 : 0);
  } else {
    float4 a = {0.f, 0.f, 0.f, 0.f}, b = {0.f, 0.f, 0.f, 0.f};
    if (ok) {
      a = *(const float4 *)src;
      b = *(const float4 *)(src + 4);
    }
    st_shared_v4(dst, pack2<BF>(a.x, a.y), pack2<BF>(a.z, a.w), pack2<BF>(b.x, b.y),
                 pack2<BF>(b.z, b.w));
  }
}
template <class E, bool BF, int NTH, int ROWS, int DREAL, int DPAD, int SSTR, class RowFn>
__device__ __forceinline__ void load_tile(u32 sdst, int tid, const E *fallback, RowFn row) {
  constexpr int CH = DPAD / 8, TOTAL = ROWS * CH;
  if constexpr (NTH % CH == 0) {
    // Each thread keeps one 16-byte column for all its rows: one address
    // register plus immediate offsets instead of a division per chunk.
    constexpr int STEP = NTH / CH;
    const int cc = int(unsigned(tid) % unsigned(CH)), r0 = int(unsigned(tid) / unsigned(CH));
    const bool colOk = DREAL == DPAD || cc * 8 < DREAL;
    const u32 dst0 = sdst + u32(r0 * SSTR + cc * 8) * 2u;
#pragma unroll
    for (int it = 0; it < (ROWS + STEP - 1) / STEP; ++it) {
      const int r = r0 + it * STEP;
      if (ROWS % STEP == 0 || r < ROWS) {
        const E *src = row(r);
        copy_chunk<E, BF>(dst0 + u32(it * STEP * SSTR * 2), src + cc * 8, colOk && src != nullptr,
                          fallback);
      }
    }
  } else {
#pragma unroll
    for (int it = 0; it < (TOTAL + NTH - 1) / NTH; ++it) {
      const int c = it * NTH + tid;
      if (TOTAL % NTH == 0 || c < TOTAL) {
        const int r = c / CH, cc = c - r * CH;
        const E *src = row(r);
        copy_chunk<E, BF>(sdst + u32(r * SSTR + cc * 8) * 2u, src + cc * 8,
                          src != nullptr && cc * 8 < DREAL, fallback);
      }
    }
  }
}

// Online-softmax update of one row half (HH = 0: row g, 1: row g+8 of the
// m16n8 accumulator layout) held by a quad of lanes: s[NT][4] are this
// thread's scores of the tile, m/l the running max and thread-partial sum.
// ADD: scores are in natural units (additive mask applied) and c = log2(e);
// else they are raw q.k and c = scale*log2(e). s becomes p; returns the
// factor the O accumulator of this row must be rescaled by.
template <int NT, int HH, bool ADD>
__device__ __forceinline__ float softmax_update(float (&s)[NT][4], float &m, float &l, float c) {
  float mx = m;
#pragma unroll
  for (int j = 0; j < NT; ++j)
    mx = fmaxf(mx, fmaxf(s[j][2 * HH], s[j][2 * HH + 1]));
  mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
  mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
  // A row with nothing allowed yet keeps m = -inf; use 0 so that -inf - m
  // stays -inf (p = 0) instead of NaN.
  const float mu = mx == -EFFC_INF_F ? 0.0f : mx;
  const float alpha = ex2((m - mu) * c);
  m = mx;
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < NT; ++j)
#pragma unroll
    for (int e = 2 * HH; e < 2 * HH + 2; ++e) {
      if constexpr (ADD)
        s[j][e] = ex2((s[j][e] - mu) * c); // (s - m) first: both may be huge negatives
      else
        s[j][e] = ex2(fmaf(s[j][e], c, -mu * c)); // one FFMA per score (-mu*c is hoisted)
      sum += s[j][e];
    }
  l = l * alpha + sum;
  return alpha;
}
} // namespace effc_attn

#endif // EFFC_DEVICE_ATTENTION_COMMON_CUH
