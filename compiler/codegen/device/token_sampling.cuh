//===- token_sampling.cuh - the one definition of a sampled token ---------===//
//
// What a sampled token is (issue 14), shared by the host sampler
// (runtime/src/Sampler.cpp) and the device kernel (sample_rows.cuh), so that
// a seed gives the same token ids on the host and on the GPU, bit for bit.
// Plain C++ and CUDA: the host includes it, the runtime concatenates it
// before sample_rows.cuh for NVRTC (no include path, no headers).
//
// A row of V logits l (no NaN: the caller's error) and the parameters
// temperature T > 0, top_k K (0: off), top_p P in (0, 1] give a token:
//  1. Order: token a comes before b when l_a > l_b, or l_a == l_b and a < b
//     (-0 equals +0). ts_order_key() is that order as an unsigned key:
//     (descending logit bits << idBits) | id, smaller first.
//  2. m = max l. If m is -inf every token is impossible: token 0, no draw.
//  3. Weights, exact integers: w_a = ts_weight(l_a, m, ts_scale(T)) =
//     floor(2^32 * 2^((l_a - m) * log2(e) / T)) with 2^x evaluated by
//     ts_exp2() in float with explicit fma (the same bits everywhere), 2^32
//     for l_a == m (+inf logits share the mass), 0 below 2^-32.
//  4. Candidates: the first K tokens in the order (all when K is 0 or
//     >= V); S = the sum of their weights (>= 2^32: the first token's).
//  5. top_p < 1: the shortest prefix of the candidates (in the order) whose
//     weight sum reaches ts_top_p_target(S, P) = min(S, ceil(P * S)) stays;
//     S' = its sum. Else S' = S.
//  6. The draw: r = ts_philox(seed, sequence, step) (Philox4x32-10, a
//     counter-based generator: one 64-bit word per (seed, sequence, step)),
//     t = ts_draw(r, S') = floor(r * S' / 2^64) in [0, S'), and the token is
//     the first in the order whose prefix sum (its weight included) exceeds t.
// Every sum is over integers, so any summation order gives the same result:
// the device may reduce in parallel and select by radix over the keys.
//
#ifndef EFFC_DEVICE_TOKEN_SAMPLING_CUH
#define EFFC_DEVICE_TOKEN_SAMPLING_CUH

#if defined(__CUDACC__)
#define TS_FN __device__ __forceinline__
// Not contracted into an fma with what follows (nvcc contracts by default).
#define TS_FMUL(a, b) __fmul_rn(a, b)
#define TS_FMA(a, b, c) fmaf(a, b, c)
#define TS_RINT(x) rintf(x)
#define TS_LDEXP(x, e) ldexpf(x, e)
#define TS_CEIL(x) ceil(x)
#define TS_FLOAT_BITS(x) __float_as_uint(x)
#else
#include <cmath>
#include <cstring>
// Internal linkage: each file keeps its own copies, so Sampler.cpp's are the
// ones it compiled with -ffp-contract=off (runtime/src/CMakeLists.txt).
#define TS_FN static inline
#define TS_FMUL(a, b) ((a) * (b))
#define TS_FMA(a, b, c) std::fma(a, b, c)
#define TS_RINT(x) std::rint(x)
#define TS_LDEXP(x, e) std::ldexp(x, e)
#define TS_CEIL(x) std::ceil(x)
static inline unsigned ts_float_bits(float x) {
  unsigned u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
#define TS_FLOAT_BITS(x) ts_float_bits(x)
#endif

typedef unsigned long long ts_u64;

// 2^32: the weight of a token at the maximum.
#define TS_ONE 4294967296ULL

// Philox4x32-10 (Salmon et al., SC'11; Random123's constants): the 64-bit
// word (out[0] | out[1] << 32) of counter {step, sequence} (two 32-bit words
// each) under key seed.
TS_FN ts_u64 ts_philox(ts_u64 seed, ts_u64 sequence, ts_u64 step) {
  unsigned c0 = unsigned(step), c1 = unsigned(step >> 32), c2 = unsigned(sequence),
           c3 = unsigned(sequence >> 32), k0 = unsigned(seed), k1 = unsigned(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0)
      k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    ts_u64 p0 = ts_u64(0xD2511F53u) * c0, p1 = ts_u64(0xCD9E8D57u) * c2;
    unsigned n0 = unsigned(p1 >> 32) ^ c1 ^ k0, n2 = unsigned(p0 >> 32) ^ c3 ^ k1;
    c1 = unsigned(p1), c3 = unsigned(p0), c0 = n0, c2 = n2;
  }
  return ts_u64(c0) | ts_u64(c1) << 32;
}

// floor(r * s / 2^64): the draw's point in [0, s), from 32-bit products.
TS_FN ts_u64 ts_draw(ts_u64 r, ts_u64 s) {
  ts_u64 rl = r & 0xffffffffULL, rh = r >> 32, sl = s & 0xffffffffULL, sh = s >> 32;
  ts_u64 ll = rl * sl, lh = rl * sh, hl = rh * sl, hh = rh * sh;
  ts_u64 mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
  return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

// log2(e) / T rounded to float: the weights' exponent scale.
TS_FN float ts_scale(double temperature) { return float(1.4426950408889634 / temperature); }

// 2^x for x <= 0 in float: x = n + f with n = rint(x), |f| <= 1/2, 2^f by
// its Taylor polynomial to f^6 (relative error < 3e-7) in explicit fmas.
TS_FN float ts_exp2(float x) {
  const float n = TS_RINT(x), f = x - n;
  float p = 1.5403530393381610e-4f; // ln2^6 / 6!
  p = TS_FMA(p, f, 1.3333558146428443e-3f);
  p = TS_FMA(p, f, 9.6181291076284772e-3f);
  p = TS_FMA(p, f, 5.5504108664821580e-2f);
  p = TS_FMA(p, f, 2.4022650695910071e-1f);
  p = TS_FMA(p, f, 6.9314718055994531e-1f);
  p = TS_FMA(p, f, 1.0f);
  return TS_LDEXP(p, int(n));
}

// Step 3's weight of logit l in a row whose maximum is m (not -inf).
TS_FN ts_u64 ts_weight(float l, float m, float scale) {
  if (l == m)
    return TS_ONE;
  if (m > 3.40282347e38f) // m is +inf: only the +inf logits count
    return 0;
  const float x = TS_FMUL(l - m, scale);
  if (!(x > -32.f)) // also -inf logits
    return 0;
  return ts_u64(TS_FMUL(ts_exp2(x), 4294967296.f));
}

// Step 1's order as a key (smaller first) of a logit (not NaN) and its id,
// with idBits >= the bits of the largest id.
TS_FN ts_u64 ts_order_key(float l, ts_u64 id, int idBits) {
  unsigned u = TS_FLOAT_BITS(l);
  if (u == 0x80000000u) // -0 is +0
    u = 0;
  // Ascending float order as unsigned, then reversed.
  const unsigned ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (ts_u64(~ascending) << idBits) | id;
}

// Bits of the largest id of a vocabulary of v tokens (at least 1).
TS_FN int ts_id_bits(ts_u64 v) {
  int b = 1;
  while ((ts_u64(1) << b) < v)
    ++b;
  return b;
}

// Step 5's target: the prefix sum top_p keeps at least, in [1, s].
TS_FN ts_u64 ts_top_p_target(ts_u64 s, double topP) {
  const double p = TS_CEIL(topP * double(s));
  const ts_u64 t = p >= double(s) ? s : ts_u64(p);
  return t < 1 ? 1 : t;
}

#endif
