// eff.expert_dispatch / eff.expert_combine on the cuda backend's ranks
// (cuda/MultiDeviceSession, effc --expert-parallel=all-to-all, issue 20).
// Counts first: each rank's routing is copied to the host (one process
// drives every rank, so the host then knows every pair's count without an
// exchange of its own; this is the layer's one host synchronization), the
// host plans the rows (host/MoEExchange.h planExchange), uploads the index
// lists, and the rows move as Collectives::allToAllv with the exact counts:
//   dispatch: gather each rank's x, experts and weights rows grouped by
//     destination (expert_exchange.cuh), three all-to-all-v calls straight
//     into the receive buffers (rows from rank 0, 1, ... back to back, as
//     the op says), the padding rows after them filled;
//   combine: one all-to-all-v of the experts' rows back (each rank returns
//     them in the order it received them) into staging, then the per-token
//     sum in fp32 in device order.
#pragma once

#include "Collectives.h"
#include "DevicePlan.h"
#include "cuda/DriverApi.h"
#include "effc/SessionOptions.h"
#include "runtime/proto/artifact.pb.h"

#include <memory>
#include <string>
#include <vector>

namespace effc::cuda {

/// A rank as the exchange sees it: its driver, stream and buffer addresses.
struct ExchangeRank {
  const Driver *d = nullptr;
  CUstream stream = nullptr;
  const std::vector<CUdeviceptr> *ptr = nullptr; // per manifest buffer
};

class ExpertExchange {
public:
  /// Checks the exchange kernels of `m` against the ranks (every rank,
  /// devices 0..N-1 in order), sizes the scratch of each rank for the
  /// largest, and compiles (NVRTC, kernel cache) and loads the row kernels
  /// on each rank's GPU. Null when `m` has no exchange kernel.
  static StatusOr<std::unique_ptr<ExpertExchange>> create(const artifact::Manifest &m,
                                                          const std::vector<ExchangeRank> &ranks,
                                                          const SessionOptions &options);
  ~ExpertExchange();

  /// Runs kernel `k` (an eff.expert_dispatch or eff.expert_combine).
  Status run(int k, const CollectiveKernel &c, Collectives &collectives);

private:
  struct Impl;
  explicit ExpertExchange(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The CUDA source of the row kernels (primitives.cuh then
/// expert_exchange.cuh), for the NVRTC test.
std::string expertExchangeSource();

} // namespace effc::cuda
