// What the kernels over rows of logits (cuda/DeviceArgmax's greedy picks,
// cuda/DeviceSampler's sampled picks) share: the kernel, loaded once per
// GPU and process through cuda/RuntimeModule, and its INT64 device
// buffers: the row indices it reads (re-uploaded only when they change)
// and the ids it writes (copied back to the host).
#pragma once

#include "cuda/DriverApi.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc::cuda {

class RowKernel {
public:
  /// Loads the function `entry` of the module `what` (from the device file
  /// `file`, NVRTC source `source()`) on the GPU options.device, once per
  /// GPU, entry and process.
  Status load(const SessionOptions &options, std::string (*source)(), const char *what,
              const char *file, const char *entry);

  const Driver &driver() const { return *driver_; }

  /// Makes the GPU current; for `n` rows, grows the buffers (ids [n], row
  /// indices [upload.size()]) when they hold fewer, and copies `upload` to
  /// the row indices on `s` when it differs from what they hold (`what`
  /// names that copy in errors; `bytes` grows by it).
  Status stage(int64_t n, std::vector<int64_t> upload, CUstream s, const char *what,
               uint64_t &bytes);
  void *rows() { return rows_.data(); }
  void *ids() { return ids_.data(); }

  /// Launches the kernel with `args` over ids.size() blocks of `threads`,
  /// copies the ids back into `ids` (`copyWhat` names that copy in errors;
  /// `bytes` grows by it) and synchronizes `s` (`syncWhat`).
  Status run(void **args, unsigned threads, CUstream s, std::vector<int64_t> &ids,
             const char *copyWhat, const char *syncWhat, uint64_t &bytes);

private:
  const Driver *driver_ = nullptr;
  CUfunction fn_ = nullptr;
  std::string entry_;
  int device_ = 0;
  DeviceTensor rows_, ids_;
  std::vector<int64_t> uploaded_; // what rows_ holds
};

} // namespace effc::cuda
