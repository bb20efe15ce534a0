// eff.ring_attention on the cuda backend's ranks (cuda/MultiDeviceSession,
// effc --devices=N --devices-attention=ring, issue 20). Ring position p is
// rank p (the op's devices listed 0..N-1 in order). N hops: at hop h
// position p attends its queries to the K/V block of position
// ringOrigin(p, h) (hop 0 its own, read from the op's inputs; later hops
// from one of two scratch slots), keeping the running (O, m, l) of each
// query row in fp32 scratch (ring_attention.cuh effc_ring_attend, causal
// mask by global token positions, contiguous or striped); a block whose
// keys all come after every query of the position is skipped. Between hops
// every position sends the block it holds to the next position's other slot
// (K and V: one Collectives::sendRecv batch a hop). Then each position
// normalizes its rows (effc_ring_finalize), the rows are all-gathered
// (Collectives::allGather into staging) and placed in token order on every
// rank (effc_ring_place). No host synchronization.
#pragma once

#include "Collectives.h"
#include "DevicePlan.h"
#include "cuda/ExpertExchange.h"
#include "effc/SessionOptions.h"
#include "runtime/proto/artifact.pb.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace effc::cuda {

/// One eff.ring_attention kernel as the cuda path runs it.
struct RingKernelShape {
  int64_t B = 0, Hq = 0, Hkv = 0, n = 0, D = 0, Dv = 0; // n: rows a position
  int N = 0;                                            // positions (ranks)
  float scale = 1;
  bool causal = false, striped = false;
  DType dtype = DType::FLOAT32;
};

/// Kernel `k` of `m` (an eff.ring_attention) against `ranks` devices: the
/// devices 0..ranks-1 in order, 4-D blocks of one float dtype (f32, f16,
/// bf16) and the op's shapes (q [B, Hq, n, D], k [B, Hkv, n, D], v [B, Hkv,
/// n, Dv], y [B, Hq, N * n, Dv], Hq a multiple of Hkv). Errors name the
/// kernel; checked before a GPU is opened.
StatusOr<RingKernelShape> ringKernelShape(const artifact::Manifest &m, int k, int ranks);

/// The position whose K/V block position `p` holds at hop `hop` of `n`.
inline int ringOrigin(int p, int hop, int n) { return ((p - hop) % n + n) % n; }

/// Whether causal attention of position qOrigin's queries allows no key of
/// position kOrigin's block (every key after every query).
bool ringBlockSkipped(const RingKernelShape &s, int qOrigin, int kOrigin);

/// Where the block a position holds at hop `hop` is: -1 the op's k/v inputs
/// (hop 0), else scratch slot 0 or 1. The sends after hop h fill slot
/// ringSlot(h + 1) of the next position.
inline int ringSlot(int hop) { return hop == 0 ? -1 : hop % 2; }

class RingAttention {
public:
  /// Checks the ring kernels of `m` (ringKernelShape), sizes each rank's
  /// scratch for the largest, and compiles (NVRTC, kernel cache) and loads
  /// ring_attention.cuh on each rank's GPU. Null when `m` has none.
  static StatusOr<std::unique_ptr<RingAttention>> create(const artifact::Manifest &m,
                                                         const std::vector<ExchangeRank> &ranks,
                                                         const SessionOptions &options);
  ~RingAttention();

  /// Runs kernel `k` (an eff.ring_attention), enqueued on the ranks' streams.
  Status run(int k, Collectives &collectives);

private:
  struct Impl;
  explicit RingAttention(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The CUDA source of the ring kernels (primitives.cuh then
/// ring_attention.cuh), for the NVRTC test.
std::string ringAttentionSource();

} // namespace effc::cuda
