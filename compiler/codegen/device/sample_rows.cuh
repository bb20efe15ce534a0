//===- sample_rows.cuh - sampled token picks on the device ----------------===//
//
// Sampling's pick (temperature, top-k, top-p, a seeded draw) without the
// logits crossing to the host (issue 14): for each of `n` selected rows of a
// logits tensor (row r starts at element rows[r] * V; its sequence is
// rows[n + r]), the token token_sampling.cuh defines for the random word
// ts_philox(seed, sequence, step), or -1 when the row holds a NaN (the
// Generator's error). The host sampler (runtime/src/Sampler.cpp) follows the
// same definition, so both pick the same ids for a seed.
//
// One block per row. The candidates are never sorted: every sum there is of
// integers, so the k-th key (top-k), the prefix reaching top-p's target and
// the draw's token are each found by a radix select over the order keys
// (8 bits a pass, from the top): a pass adds each key's amount (1, or its
// weight) to the histogram of its next digit among the keys that share the
// digits chosen so far, and keeps the first digit at which the running sum
// reaches the target. Each pass reads the row again (from L2 after the
// first): about 3 x (32 + log2 V) / 8 passes with top-p and no top-k; with
// top-k <= 1024 the candidates are listed in shared memory after the k-th
// key's passes and top-p and the draw read only the list.
//
// Not generated per model: the runtime compiles this file (after
// primitives.cuh and token_sampling.cuh) with NVRTC once per device and
// process (runtime/src/cuda/DeviceSampler.cpp) and launches effc_sample_rows
// on the session's stream after the run that wrote the logits.
//
#ifndef EFFC_DEVICE_SAMPLE_ROWS_CUH
#define EFFC_DEVICE_SAMPLE_ROWS_CUH

#include "primitives.cuh"
#include "token_sampling.cuh"

namespace effc_sample {

constexpr int kThreads = 512;
constexpr int kBins = 256;       // one 8-bit digit
constexpr int kMaxListed = 1024; // top-k candidates kept in shared memory

struct Row {
  const void *logits;
  i64 base, V;
  int dtype, idBits;
  float m, scale;
  __device__ __forceinline__ float at(i64 v) const { return load_dtype(logits, base + v, dtype); }
};

// Where select_key reads (key, logit) pairs: every token of the row, or the
// top-k candidates listed in shared memory.
struct RowKeys {
  const Row &row;
  __device__ __forceinline__ i64 size() const { return row.V; }
  __device__ __forceinline__ void get(i64 i, u64 &key, float &l) const {
    l = row.at(i);
    key = ts_order_key(l, u64(i), row.idBits);
  }
};
struct ListedKeys {
  const u64 *keys;
  const float *logits;
  i64 n;
  __device__ __forceinline__ i64 size() const { return n; }
  __device__ __forceinline__ void get(i64 i, u64 &key, float &l) const {
    key = keys[i];
    l = logits[i];
  }
};

// The smallest key kappa <= limit whose prefix sum (the amounts of the keys
// <= kappa that are <= limit) reaches `target` (>= 1, at most the sum of
// every key <= limit); `below` gets the sum of the keys before kappa. The
// amount of a key is 1, or with `weighted` its token's ts_weight. Every
// thread of the block calls it and gets the result.
template <class Keys>
__device__ u64 select_key(const Keys &keys, const Row &row, u64 limit, bool weighted, u64 target,
                          u64 &below) {
  __shared__ u64 hist[kBins];
  __shared__ u64 chosenBelow;
  __shared__ int chosenDigit;
  const int bits = 32 + row.idBits;
  u64 prefix = 0, sum = 0;
  for (int shift = (bits + 7) / 8 * 8 - 8; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < kBins; i += kThreads)
      hist[i] = 0;
    __syncthreads();
    // A thread's run of keys in one bin goes in as one atomic: the first
    // passes put most of a row in a few bins.
    int runBin = 0;
    u64 run = 0;
    for (i64 i = threadIdx.x; i < keys.size(); i += kThreads) {
      u64 key;
      float l;
      keys.get(i, key, l);
      if (key > limit || (shift + 8 < 64 && (key >> (shift + 8)) != prefix))
        continue;
      const u64 amount = weighted ? ts_weight(l, row.m, row.scale) : 1;
      const int bin = int((key >> shift) & (kBins - 1));
      if (bin != runBin && run) {
        atomicAdd(&hist[runBin], run);
        run = 0;
      }
      runBin = bin;
      run += amount;
    }
    if (run)
      atomicAdd(&hist[runBin], run);
    __syncthreads();
    // Warp 0 scans: lane l holds bins 8l..8l+7.
    if (threadIdx.x < 32) {
      const int lane = threadIdx.x;
      u64 own = 0;
      for (int b = 0; b < 8; ++b)
        own += hist[lane * 8 + b];
      u64 incl = own;
      for (int o = 1; o < 32; o <<= 1) {
        u64 x = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o)
          incl += x;
      }
      const unsigned reached = __ballot_sync(0xffffffffu, sum + incl >= target);
      const int first = reached ? __ffs(reached) - 1 : 31;
      if (lane == first) {
        u64 acc = sum + incl - own;
        int d = lane * 8;
        for (; d < lane * 8 + 7 && acc + hist[d] < target; ++d)
          acc += hist[d];
        chosenDigit = d;
        chosenBelow = acc;
      }
    }
    __syncthreads();
    prefix = (prefix << 8) | u64(chosenDigit);
    sum = chosenBelow;
    __syncthreads(); // hist and the choice are rewritten next pass
  }
  below = sum;
  return prefix;
}

// Steps 4 (the candidates' sum), 5 and 6 over the keys <= limit: the drawn
// token's key.
template <class Keys>
__device__ u64 draw_key(const Keys &keys, const Row &row, u64 limit, double topP, u64 random) {
  u64 sum = 0, below = 0;
  for (i64 i = threadIdx.x; i < keys.size(); i += kThreads) {
    u64 key;
    float l;
    keys.get(i, key, l);
    if (key <= limit)
      sum += ts_weight(l, row.m, row.scale);
  }
  sum = block_reduce(sum, SumOp());
  // Step 5: top-p's prefix.
  if (topP < 1) {
    limit = select_key(keys, row, limit, true, ts_top_p_target(sum, topP), below);
    const u64 idMask = (u64(1) << row.idBits) - 1;
    sum = below + ts_weight(row.at(i64(limit & idMask)), row.m, row.scale);
  }
  // Step 6: the draw.
  return select_key(keys, row, limit, true, ts_draw(random, sum) + 1, below);
}

} // namespace effc_sample

EFFC_KERNEL void __launch_bounds__(512)
    effc_sample_rows(const void *logits, const i64 *rows, i64 n, i64 V, int dtype, float scale,
                     i64 topK, double topP, u64 seed, u64 step, i64 *ids) {
  using namespace effc_sample;
  const i64 r = blockIdx.x;
  if (r >= n)
    return;
  Row row{logits, rows[r] * V, V, dtype, ts_id_bits(u64(V)), 0.f, scale};
  // Step 2: the maximum (NaN: -1; all -inf: token 0).
  float m = -EFFC_INF_F;
  int nan = 0;
  for (i64 v = threadIdx.x; v < V; v += kThreads) {
    const float x = row.at(v);
    if (x != x)
      nan = 1;
    else if (x > m)
      m = x;
  }
  nan = __syncthreads_or(nan);
  m = block_reduce(m, MaxOp());
  if (nan || m == -EFFC_INF_F) {
    if (threadIdx.x == 0)
      ids[r] = nan ? -1 : 0;
    return;
  }
  row.m = m;
  const u64 idMask = (u64(1) << row.idBits) - 1;
  const u64 random = ts_philox(seed, u64(rows[n + r]), step);
  const RowKeys all{row};
  u64 key;
  if (topK > 0 && topK < V) {
    // Step 4: the k-th key bounds the candidates; few enough of them are
    // listed once, and the later passes read only the list.
    u64 below = 0;
    const u64 kth = select_key(all, row, ~u64(0), false, u64(topK), below);
    if (topK <= kMaxListed) {
      __shared__ u64 listedKeys[kMaxListed];
      __shared__ float listedLogits[kMaxListed];
      __shared__ int listed;
      if (threadIdx.x == 0)
        listed = 0;
      __syncthreads();
      for (i64 v = threadIdx.x; v < V; v += kThreads) {
        const float l = row.at(v);
        const u64 k = ts_order_key(l, u64(v), row.idBits);
        if (k <= kth) {
          const int at = atomicAdd(&listed, 1); // exactly topK keys: they are unique
          listedKeys[at] = k;
          listedLogits[at] = l;
        }
      }
      __syncthreads();
      key = draw_key(ListedKeys{listedKeys, listedLogits, topK}, row, kth, topP, random);
    } else {
      key = draw_key(all, row, kth, topP, random);
    }
  } else {
    key = draw_key(all, row, ~u64(0), topP, random);
  }
  if (threadIdx.x == 0)
    ids[r] = i64(key & idMask);
}

#endif
