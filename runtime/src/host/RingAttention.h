// Ring attention (issue 20): the sequence of T tokens is cut over N devices;
// each device keeps the queries of its tokens and the K/V blocks travel the
// ring (Collectives::sendRecv), one hop per step, so after N steps every
// device has seen every key. A device merges the partial result of each
// block into its running one with the online-softmax rescaling that
// eff.attention_combine applies to split-KV partials:
//   M = max(lse_a, lse_b), w_x = exp(lse_x - M),
//   o = (w_a o_a + w_b o_b) / (w_a + w_b), lse = M + ln(w_a + w_b)
// (a side with lse = -inf, no allowed key, weighs 0; both: o = 0).
// Causal balance: with contiguous blocks device 0's queries see one block
// and device N-1's see all N; striped assignment (device d owns tokens d,
// d + N, d + 2N, ...) gives every device about the same allowed pairs.
// This is the host reference of the math (fp32, B = 1); the host kernel of
// eff.ring_attention (effc --devices-attention=ring; registerRingAttention)
// runs it per batch row over HostCollectives, which the host backend's
// simulated devices and the constant folder call. No CUDA path yet: device
// kernels would compute a block pair with attention_partial's arithmetic.
#pragma once

#include "Collectives.h"

#include <cstdint>
#include <vector>

namespace effc::host {

/// The token positions device `device` of `devices` owns out of [0, T):
/// contiguous blocks of ceil(T / devices) or striped (device, device +
/// devices, ...), ascending.
std::vector<int64_t> ringPositions(int64_t T, int devices, int device, bool striped);

/// The shape of one ring attention problem (one batch row).
struct RingAttentionShape {
  int64_t Hq = 0, Hkv = 0, D = 0, Dv = 0;
  float scale = 1;
  bool causal = false;
};

/// Partial attention of queries q [Hq, nq, D] at positions qpos over keys
/// k [Hkv, nk, D], v [Hkv, nk, Dv] at positions kpos (query head h reads kv
/// head h / (Hq / Hkv); causal allows kpos <= qpos): o [Hq, nq, Dv]
/// normalized within the block, lse [Hq, nq] (-inf where no key is allowed).
/// Returns the number of allowed (query, key) pairs it computed.
int64_t attendBlock(const RingAttentionShape &s, const float *q, const std::vector<int64_t> &qpos,
                    const float *k, const float *v, const std::vector<int64_t> &kpos, float *o,
                    float *lse);

/// (o, lse) <- the online-softmax merge of (o, lse) and (o2, lse2) over
/// `rows` rows of Dv values.
void mergePartial(float *o, float *lse, const float *o2, const float *lse2, int64_t rows,
                  int64_t Dv);

/// Ring attention over `comm.size()` devices. Device d holds q[d] [Hq, n_d,
/// D], k[d] [Hkv, n_d, D], v[d] [Hkv, n_d, Dv] for its tokens pos[d]
/// (ringPositions); out[d] receives [Hq, n_d, Dv]. K/V (and their positions)
/// move one hop per step through comm.sendRecv, double-buffered. A block
/// whose keys all come after every query (causal) is skipped. work[d], when
/// given, receives the allowed pairs device d computed.
Status ringAttention(Collectives &comm, const RingAttentionShape &s,
                     const std::vector<std::vector<int64_t>> &pos,
                     const std::vector<const float *> &q, const std::vector<const float *> &k,
                     const std::vector<const float *> &v, const std::vector<float *> &out,
                     std::vector<int64_t> *work = nullptr);

} // namespace effc::host
