// NCCL, loaded with dlopen like libcuda (cuda/DynLib.h): the runtime builds
// and starts without it, and a partitioned run on GPUs without it fails with
// a Status that says what was searched. Types and enum values match nccl.h
// (NCCL 2.x); the functions come from libnccl.so.2 at run time.
//
// Process model: one process drives all GPUs (ncclCommInitAll over the
// device list, every collective one ncclGroupStart/End around the per-rank
// calls). effc's artifact is one program whose kernels carry a device, the
// runtime already keeps one context per device ordinal (getDriver), the host
// backend simulates the same N ranks in one address space, and a user's
// Session::run stays one call with no launcher, rendezvous or MPI.
#pragma once

#include "Collectives.h"
#include "cuda/DriverApi.h"

#include <memory>
#include <string>
#include <vector>

namespace effc::cuda {

using ncclResult_t = int;
using ncclComm_t = struct ncclComm *;
constexpr ncclResult_t ncclSuccess = 0;
constexpr int ncclFloat16 = 6, ncclFloat32 = 7, ncclFloat64 = 8, ncclBfloat16 = 9;
constexpr int ncclInt8 = 0, ncclUint8 = 1, ncclInt32 = 2, ncclInt64 = 4;
constexpr int ncclSum = 0;

/// Function pointers into libnccl.so.2.
struct NcclApi {
  std::string libraryPath;
  int version = 0; ///< ncclGetVersion: 22105 for 2.21.5
  ncclResult_t (*ncclGetVersion)(int *);
  const char *(*ncclGetErrorString)(ncclResult_t);
  ncclResult_t (*ncclCommInitAll)(ncclComm_t *, int, const int *);
  ncclResult_t (*ncclCommDestroy)(ncclComm_t);
  ncclResult_t (*ncclGroupStart)();
  ncclResult_t (*ncclGroupEnd)();
  ncclResult_t (*ncclAllReduce)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
  ncclResult_t (*ncclAllGather)(const void *, void *, size_t, int, ncclComm_t, CUstream);
  ncclResult_t (*ncclReduceScatter)(const void *, void *, size_t, int, int, ncclComm_t, CUstream);
  ncclResult_t (*ncclSend)(const void *, size_t, int, int, ncclComm_t, CUstream);
  ncclResult_t (*ncclRecv)(void *, size_t, int, int, ncclComm_t, CUstream);

  /// OK, or "nccl: <what>: <ncclGetErrorString> (<code>)".
  Status check(ncclResult_t r, const std::string &what) const;
};

/// Loads NCCL once per process (thread-safe; a failure is remembered). Tries
/// EFFC_NCCL_PATH when set, else libnccl.so.2 on the loader path and then
/// the nvidia-nccl pip packages' nvidia/nccl/lib under the usual
/// site-packages/dist-packages directories (VIRTUAL_ENV, ~/.local, /usr,
/// /usr/local).
StatusOr<const NcclApi *> loadNccl();

/// Collectives over GPUs `devices` (ordinals; rank r is devices[r]), one
/// stream per rank; buffers are device pointers on their rank's GPU.
/// Fails naming NCCL's or the driver's error.
StatusOr<std::unique_ptr<Collectives>> makeNcclCollectives(const std::vector<int> &devices);

} // namespace effc::cuda
