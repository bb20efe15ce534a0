// The backend interface. A Backend turns a validated Model into per-session
// executors; "host" (reference C++) and "cuda" are built in, others plug in
// through registerBackend() without changing Session.
#pragma once

#include "effc/Model.h"
#include "effc/Session.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace effc {

/// State of one session on one backend (its arena etc.). Used by one thread
/// at a time.
class BackendSession {
public:
  virtual ~BackendSession() = default;
  /// `inputs` are already checked against model.inputs() (same order, dtype,
  /// shape, non-null; a device tensor is on the session's device);
  /// `outputs` likewise against model.outputs(). A backend rejects a device
  /// it cannot read or write, naming the input or output.
  virtual Status run(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
                     RunProfile *profile) = 0;
  /// Outputs left in device memory; backends without a device say so.
  /// Errors need not name the model (Session adds its path).
  virtual StatusOr<std::vector<DeviceTensor>> runOnDevice(const std::vector<Tensor> &inputs) {
    (void)inputs;
    return Status::error("this backend has no device memory: runOnDevice needs the cuda backend");
  }
  /// Device time (ms) of the whole kernel sequence, once per iteration, on the
  /// inputs of the last run(): what a benchmark compares with other
  /// frameworks' kernel time, without host<->device copies. Backends that
  /// cannot time on their device say so.
  virtual StatusOr<std::vector<double>> timeKernels(int iterations) {
    (void)iterations;
    return Status::error("this backend has no device timer");
  }
  /// The values of the model's symbolic dims (Model::dims()) for the next
  /// runs, before run() is called with inputs of those shapes. The host and
  /// cuda backends have runtime extents (Session::create refuses the others).
  virtual Status setDims(const std::vector<int64_t> &values) {
    (void)values;
    return Status::error("this backend does not run models with symbolic dims");
  }
  /// The stream runs are queued on; null without one.
  virtual void *stream() const { return nullptr; }
  /// Copies `bytes` of session state `state` (Model::states()) from byte
  /// `from` to byte `to` of that state, ordered after the runs queued
  /// before (ranges checked by Session::copyStatePage).
  virtual Status copyStateBytes(size_t state, uint64_t from, uint64_t to, uint64_t bytes) {
    (void)state, (void)from, (void)to, (void)bytes;
    return Status::error("this backend keeps no session state");
  }
};

class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// Checks that every kernel of the model is runnable here (known ops...).
  virtual Status supports(const Model &model) const = 0;
  /// `options.backend` names this backend; the arena limit is already checked.
  virtual StatusOr<std::unique_ptr<BackendSession>>
  createSession(std::shared_ptr<const Model> model, const SessionOptions &options) const = 0;
};

using BackendFactory = std::function<StatusOr<std::shared_ptr<Backend>>()>;
/// Makes `name` available to Session::create (replaces an existing entry).
void registerBackend(const std::string &name, BackendFactory factory);
/// "host", "cuda" (reports that it is not built when absent), or registered.
StatusOr<std::shared_ptr<Backend>> getBackend(const std::string &name);

} // namespace effc
