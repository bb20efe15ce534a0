// A partitioned artifact (effc --devices=N, issue 20) on the cuda backend:
// one session drives N ranks, each with its own arena (and dims buffer) and
// its own stream, and runs the plan of DevicePlan.h: a placed kernel on its
// rank, a replicated one on every rank, a collective op through
// Collectives.h between them.
//   - N GPUs or more (and NCCL loadable): rank r on GPU (device + r) % count,
//     collectives through NCCL (cuda/Nccl.h; NCCL_NVLS_ENABLE=0 unless set).
//   - Fewer GPUs than N, or EFFC_COLLECTIVES=streams: every rank on GPU
//     `device` (SessionOptions::device), collectives through
//     cuda/StreamCollectives.h (stream-ordered copies, reductions staged
//     through the host arithmetic), so one GPU checks the plan's numerics.
// Kernels of rank r run on the collectives' stream of rank r, so every
// collective is ordered after the kernels that produce its inputs. Caller
// tensors are host memory (copied to every rank; an output comes from the
// rank that holds it); no CUDA graph, side streams or bound device buffers.
#pragma once

#include "Collectives.h"
#include "cuda/DriverApi.h"
#include "effc/Backend.h"
#include "effc/Model.h"
#include "effc/SessionOptions.h"

#include <memory>
#include <vector>

namespace effc::cuda {

StatusOr<std::unique_ptr<BackendSession>>
createMultiDeviceSession(std::shared_ptr<const Model> model, const SessionOptions &options);

/// The copies that place an all-gather's blocks, gathered back to back into
/// `staging` (rank q's block of `outer` rows of `inner` bytes at q * outer *
/// inner), into its output `out`: operand i (from rank devices[i]) goes to
/// bytes [i * inner, +inner) of each of the output's `outer` rows (row pitch
/// devices.size() * inner), the concat along the gather's axis.
/// The copies of an all-gather on axis 0 whose blocks differ in size (the
/// token shards of --expert-parallel=all-to-all when N does not divide T):
/// block i (`counts[i]` elements at `blocks[i]` on rank devices[i]) to every
/// rank r's output `outs[r]`, after the blocks before it (the concat).
std::vector<Transfer> gatherTransfers(const std::vector<CUdeviceptr> &blocks,
                                      const std::vector<CUdeviceptr> &outs,
                                      const std::vector<int> &devices,
                                      const std::vector<size_t> &counts, size_t elementSize);

std::vector<CudaMemcpy2D> placeGatheredBlocks(CUdeviceptr staging, CUdeviceptr out,
                                              const std::vector<int> &devices, size_t outer,
                                              size_t inner);

} // namespace effc::cuda
