// A Session runs one Model on one backend. Sessions are cheap relative to the
// model: each owns its arena; several sessions over one Model may run on
// different threads concurrently. One Session is used by one thread at a time.
#pragma once

#include "effc/Backend.h"
#include "effc/Model.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace effc {

class Session {
public:
  /// backend: "host" or "cuda".
  static StatusOr<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                   const std::string &backend = "host");

  /// Runs with inputs by name; every model input must be given exactly once
  /// with the manifest's dtype and shape. Outputs come back in
  /// model().outputs() order.
  StatusOr<std::vector<HostTensor>> run(const std::map<std::string, Tensor> &inputs,
                                        RunProfile *profile = nullptr);
  /// Same with inputs in model().inputs() order.
  StatusOr<std::vector<HostTensor>> runPositional(const std::vector<Tensor> &inputs,
                                                  RunProfile *profile = nullptr);

  /// Device time (ms) of the kernels alone, `iterations` times, on the inputs
  /// of the last run (see BackendSession::timeKernels).
  StatusOr<std::vector<double>> timeKernels(int iterations) {
    return impl_->timeKernels(iterations);
  }

  const Model &model() const { return *model_; }
  const std::string &backendName() const { return backendName_; }

private:
  Session() = default;
  std::shared_ptr<const Model> model_;
  std::string backendName_;
  std::unique_ptr<BackendSession> impl_;
};

} // namespace effc
