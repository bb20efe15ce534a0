// The backend interface. A Backend turns a validated Model into per-session
// executors; "host" (reference C++) is built in, "cuda" plugs in later through
// registerBackend() without changing Session.
#pragma once

#include "effc/Model.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace effc {

/// Optional per-run measurements (effc-run -v).
struct RunProfile {
  struct KernelTime {
    int index;
    std::string op, location;
    double ms;
  };
  std::vector<KernelTime> kernels;
};

/// State of one session on one backend (its arena etc.). Used by one thread
/// at a time.
class BackendSession {
public:
  virtual ~BackendSession() = default;
  /// `inputs` are already checked against model.inputs() (same order, dtype,
  /// shape); `outputs` are allocated with model.outputs() dtype/shape.
  virtual Status run(const std::vector<Tensor> &inputs, std::vector<HostTensor> &outputs,
                     RunProfile *profile) = 0;
  /// Device time (ms) of the whole kernel sequence, once per iteration, on the
  /// inputs of the last run(): what a benchmark compares with other
  /// frameworks' kernel time, without host<->device copies. Backends that
  /// cannot time on their device say so.
  virtual StatusOr<std::vector<double>> timeKernels(int iterations) {
    (void)iterations;
    return Status::error("this backend has no device timer");
  }
};

class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// Checks that every kernel of the model is runnable here (known ops...).
  virtual Status supports(const Model &model) const = 0;
  virtual StatusOr<std::unique_ptr<BackendSession>>
  createSession(std::shared_ptr<const Model> model) const = 0;
};

using BackendFactory = std::function<StatusOr<std::shared_ptr<Backend>>()>;
/// Makes `name` available to Session::create (replaces an existing entry).
void registerBackend(const std::string &name, BackendFactory factory);
/// "host", "cuda" (reports that it is not built when absent), or registered.
StatusOr<std::shared_ptr<Backend>> getBackend(const std::string &name);

} // namespace effc
