// N simulated devices on one GPU (issue 20): rank r is a stream of that GPU,
// so a single-GPU machine checks a partitioned run's data movement. Copies
// (all-gather, all-to-all, send/recv) are cuMemcpyDtoDAsync on the
// destination rank's stream after an event barrier over all ranks' streams;
// reductions stage through the host and add with HostCollectives' arithmetic
// (fp32, rank order, one rounding), so the results equal the host backend's
// bit for bit. A functional stand-in for NCCL, not a performance model.
#pragma once

#include "Collectives.h"

#include <memory>

namespace effc::cuda {

/// `ranks` streams on GPU `device`; buffers are device pointers on it.
StatusOr<std::unique_ptr<Collectives>> makeStreamCollectives(int device, int ranks);

} // namespace effc::cuda
