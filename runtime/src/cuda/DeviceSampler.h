// Sampling's pick on the device (issue 14): each selected row's token drawn
// as compiler/codegen/device/token_sampling.cuh defines (temperature, top-k,
// top-p, the Philox word of (seed, sequence, step)) by
// device/sample_rows.cuh, compiled with NVRTC once per device and process;
// only the ids cross to the host, and they are the ids the host sampler
// (Sampler.h sampleToken) picks from the same logits. A row is named by its
// index in the logits seen as [rows, V]; everything runs on `stream` (a
// CUstream) after the run that wrote the logits and has finished when the
// call returns.
#pragma once

#include "Sampler.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace effc::cuda {

class DeviceSampler {
public:
  /// Compiles (or takes from the kernel cache) and loads the kernel on the
  /// device `options.device`.
  static StatusOr<std::unique_ptr<DeviceSampler>> create(const SessionOptions &options);
  ~DeviceSampler();

  /// Whether sample() reads logits of this dtype (float32, fp16, bf16).
  static bool reads(DType dtype);

  /// ids[r]: the token sampled (p.temperature > 0) from row rows[r] of
  /// `logits` (a float32, fp16 or bf16 device tensor whose last dim is V)
  /// with the random word tokenRandom(seed, sequences[r], step); -1 where
  /// that row holds a NaN. `bytes` grows by what crossed between host and
  /// device (the rows and sequences when they changed since the last call,
  /// and the ids).
  Status sample(const Tensor &logits, const std::vector<int64_t> &rows,
                const std::vector<int64_t> &sequences, const detail::SamplingParams &p,
                uint64_t seed, uint64_t step, void *stream, std::vector<int64_t> &ids,
                uint64_t &bytes);

private:
  struct Impl;
  explicit DeviceSampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The CUDA source the kernel is compiled from (primitives.cuh,
/// token_sampling.cuh, sample_rows.cuh), for the NVRTC test.
std::string sampleRowsSource();

} // namespace effc::cuda
