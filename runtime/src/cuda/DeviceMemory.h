// Device memory owned by DeviceTensors, and the session stream it is freed
// on. A session's own stream is shared (std::shared_ptr) by the session and
// every DeviceTensor it returned, so a stream-ordered free never targets a
// destroyed stream.
#pragma once

#include "cuda/DriverApi.h"
#include "effc/Tensor.h"

#include <memory>

namespace effc {
namespace cuda {
/// A stream and whether it is destroyed with its last owner (the session's
/// own stream) or left alone (a caller's stream).
using SharedStream = std::shared_ptr<CUstream_st>;
SharedStream ownedStream(const Driver &d, CUstream s);
SharedStream borrowedStream(CUstream s);
} // namespace cuda

namespace detail {
struct DeviceAllocation {
  const cuda::Driver *driver = nullptr;
  cuda::CUdeviceptr ptr = 0;
  size_t bytes = 0;
  /// Allocated with cuMemAllocAsync on `stream` (freed the same way), else
  /// cuMemAlloc/cuMemFree and stream is null.
  cuda::SharedStream stream;

  DeviceAllocation() = default;
  DeviceAllocation(const DeviceAllocation &) = delete;
  DeviceAllocation &operator=(const DeviceAllocation &) = delete;
  ~DeviceAllocation();
};

/// `bytes` of device memory, stream-ordered on `stream` when given.
StatusOr<std::shared_ptr<DeviceAllocation>> allocateDevice(const cuda::Driver &d, size_t bytes,
                                                           const cuda::SharedStream &stream);
} // namespace detail
} // namespace effc
