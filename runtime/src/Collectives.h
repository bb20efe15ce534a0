// Collectives over the N devices of one partitioned run (issue 20), driven
// from one process: every call names all ranks' buffers at once (rank r's
// buffer is element r of each vector) and returns when all ranks' parts are
// enqueued (cuda) or done (host). Three implementations share this contract,
// so what the host checks is what the GPUs run:
//   - host/HostCollectives.cpp: N simulated devices in one address space,
//     every collective a memcpy (reductions in fp32, rank order, one rounding);
//   - cuda/Nccl.cpp: one GPU per rank, NCCL loaded with dlopen, each call one
//     ncclGroupStart/End around the per-rank calls (one process drives all
//     GPUs: ncclCommInitAll);
// Element counts are per rank, as NCCL counts them.
#pragma once

#include "effc/DType.h"
#include "effc/Status.h"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace effc {

/// One point-to-point copy of a sendRecv batch: `count` elements from rank
/// `from`'s `src` to rank `to`'s `dst`.
struct Transfer {
  int from = 0, to = 0;
  const void *src = nullptr;
  void *dst = nullptr;
  size_t count = 0;
};

class Collectives {
public:
  virtual ~Collectives() = default;
  /// Number of ranks (devices).
  virtual int size() const = 0;
  /// "host (4 simulated devices)", "nccl 2.21.5 (4 GPUs)".
  virtual std::string describe() const = 0;

  /// recv[r] = sum over ranks q of send[q] (count elements each).
  virtual Status allReduceSum(const std::vector<const void *> &send,
                              const std::vector<void *> &recv, size_t count, DType dtype) = 0;
  /// recv[r] = send[0] ++ send[1] ++ ... (count elements from each rank).
  virtual Status allGather(const std::vector<const void *> &send, const std::vector<void *> &recv,
                           size_t count, DType dtype) = 0;
  /// recv[r] = block r (count elements) of the sum over q of send[q]
  /// (size() * count elements each).
  virtual Status reduceScatterSum(const std::vector<const void *> &send,
                                  const std::vector<void *> &recv, size_t count, DType dtype) = 0;
  /// All-to-all with per-pair counts (MoE token exchange): counts[q][p]
  /// elements go from rank q to rank p. send[q] holds its blocks for p = 0,
  /// 1, ... back to back; recv[p] receives the blocks of q = 0, 1, ... back
  /// to back.
  virtual Status allToAllv(const std::vector<const void *> &send, const std::vector<void *> &recv,
                           const std::vector<std::vector<size_t>> &counts, DType dtype) = 0;
  /// A batch of point-to-point copies that run together (a ring shift is one
  /// Transfer per rank). The destinations must not overlap any source of
  /// the batch.
  virtual Status sendRecv(const std::vector<Transfer> &transfers, DType dtype) = 0;
  /// Waits until everything enqueued so far has finished.
  virtual Status synchronize() = 0;
  /// The CUstream rank r's collectives run on (kernels are ordered around
  /// it); nullptr on the host.
  virtual void *rankStream(int /*rank*/) const { return nullptr; }

protected:
  /// Checks the vector sizes, the ranks and the dtype of a call; `what`
  /// names it in the message.
  Status checkRanks(const char *what, size_t sends, size_t recvs, DType dtype) const;
};

/// N simulated devices in this process (host/HostCollectives.cpp).
StatusOr<std::unique_ptr<Collectives>> makeHostCollectives(int ranks);

/// The ring order of a ring collective: rank r sends to next(r) and
/// receives from prev(r).
inline int ringNext(int r, int n) { return (r + 1) % n; }
inline int ringPrev(int r, int n) { return (r + n - 1) % n; }

} // namespace effc
