// What the Generator's loop reads from logits left on the device (issue 14):
// each sequence's greedy token (device/argmax_rows.cuh, compiled with NVRTC
// once per device and process) or, for sampling and returned logits, only
// the rows it needs. A row is named by its index in the logits seen as
// [rows, V]; everything runs on `stream` (a CUstream) after the run that
// wrote the logits and has finished when the call returns.
#pragma once

#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc::cuda {

class DeviceArgmax {
public:
  /// Compiles (or takes from the kernel cache) and loads the kernel on the
  /// device `options.device`.
  static StatusOr<std::unique_ptr<DeviceArgmax>> create(const SessionOptions &options);
  ~DeviceArgmax();

  /// Whether pick() reads logits of this dtype (float32, fp16, bf16).
  static bool reads(DType dtype);

  /// ids[r]: the first maximum of row rows[r] of `logits` (a float32, fp16
  /// or bf16 device tensor whose last dim is V), -1 where that row holds a
  /// NaN. `bytes` grows by what crossed between host and device (the row
  /// indices when they changed since the last call, and the ids).
  Status pick(const Tensor &logits, const std::vector<int64_t> &rows, void *stream,
              std::vector<int64_t> &ids, uint64_t &bytes);

private:
  struct Impl;
  explicit DeviceArgmax(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The CUDA source the kernel is compiled from (primitives.cuh then
/// argmax_rows.cuh), for the NVRTC test.
std::string argmaxRowsSource();

/// Copies rows[r] of the device tensor `logits` (seen as [rows, V]) to row
/// r of `out`, a host tensor [rows.size(), V] of the logits' dtype; `bytes`
/// grows by the bytes copied.
Status copyLogitsRows(const Tensor &logits, const std::vector<int64_t> &rows, void *stream,
                      HostTensor &out, uint64_t &bytes);

} // namespace effc::cuda
