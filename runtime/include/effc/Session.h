// A Session runs one Model on one backend, configured by SessionOptions.
//
// Thread safety: a Model is immutable and may be shared by any number of
// Sessions on any threads. Sessions are cheap relative to the model (each
// owns its arena and, on the cuda backend, its stream unless given one);
// several Sessions over one Model may run concurrently on different threads
// and streams. One Session is used by one thread at a time (run calls on one
// Session must not overlap).
//
// Inputs are host or device tensors (Tensor::device); a device tensor must be
// on the session's device (SessionOptions::device), and only the cuda backend
// takes them. Outputs come back in one of three ways:
//   run()         host copies (HostTensor);
//   runOnDevice() tensors that stay on the GPU (DeviceTensor; cuda only);
//   runInto()     written into caller buffers, host or device: on the cuda
//                 backend kernels write a device buffer directly where the
//                 plan allows (the output is a whole arena tensor), else one
//                 device-to-device copy.
// Synchronization: with a caller stream (SessionOptions::stream), a run whose
// inputs and outputs are all on the device is only queued on that stream and
// returns at once; a run that reads or writes host memory, and every run on
// the session's own stream, has finished when it returns. Device inputs are
// read, and device outputs written, in the order of the session's stream:
// data made on another stream must be complete (synchronized) before the run,
// or be made on the stream given as SessionOptions::stream.
#pragma once

#include "effc/Model.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace effc {

class BackendSession;

/// Optional per-run measurements (effc-run -v).
struct RunProfile {
  struct KernelTime {
    int index;
    std::string op, location;
    double ms;
  };
  std::vector<KernelTime> kernels;
  /// Bytes the run copied from the caller's inputs into the session's memory
  /// and from it into the caller's outputs (host backend; session state is
  /// neither: a KV cache kept in place adds nothing here).
  uint64_t bytesIn = 0, bytesOut = 0;
};

class Session {
public:
  /// Errors name the model path ("<path>: cuda backend: ...").
  static StatusOr<std::unique_ptr<Session>>
  create(std::shared_ptr<const Model> model,
         const SessionOptions &options = SessionOptions::fromEnvironment());
  /// SessionOptions::fromEnvironment() with `backend` ("host" or "cuda").
  static StatusOr<std::unique_ptr<Session>> create(std::shared_ptr<const Model> model,
                                                   const std::string &backend);
  ~Session();

  /// Runs with inputs by name; every model input must be given exactly once
  /// with the manifest's dtype and shape. A model with symbolic dims
  /// (Model::dims()) takes any shape within the bounds: each dim is bound
  /// from the inputs, and the outputs are shaped from those values. Outputs come back as host
  /// copies, in model().outputs() order.
  StatusOr<std::vector<HostTensor>> run(const std::map<std::string, Tensor> &inputs,
                                        RunProfile *profile = nullptr);
  /// Same with inputs in model().inputs() order.
  StatusOr<std::vector<HostTensor>> runPositional(const std::vector<Tensor> &inputs,
                                                  RunProfile *profile = nullptr);

  /// Outputs stay in device memory (model().outputs() order), allocated
  /// stream-ordered on the session's stream. cuda backend only.
  StatusOr<std::vector<DeviceTensor>> runOnDevice(const std::map<std::string, Tensor> &inputs);
  StatusOr<std::vector<DeviceTensor>> runOnDevicePositional(const std::vector<Tensor> &inputs);

  /// Writes every model output into the caller's buffer of that name (host
  /// or device memory; dtype and shape must match the model's).
  Status runInto(const std::map<std::string, Tensor> &inputs,
                 const std::map<std::string, MutableTensor> &outputs);
  /// Same with inputs and outputs in model order.
  Status runIntoPositional(const std::vector<Tensor> &inputs,
                           const std::vector<MutableTensor> &outputs);

  /// The next run that goes through run, runPositional, runInto or
  /// runIntoPositional (whoever calls it: a Generator's decode step, say)
  /// fills `*profile` as run(inputs, profile) would (per-kernel times, no
  /// CUDA graph), then profiling is off again. runOnDevice is not profiled.
  /// `profile` must outlive that run; nullptr cancels.
  void profileNextRun(RunProfile *profile) { nextProfile_ = profile; }

  /// Device time (ms) of the kernels alone, `iterations` times, on the
  /// inputs of the last run (a device input must still be alive; outputs go
  /// to the session's own memory). Backends without a device timer say so.
  StatusOr<std::vector<double>> timeKernels(int iterations);

  /// Session state (Model::states(): a KV cache kept in place): the rows
  /// every state holds, which the next run reads as its past and appends to
  /// (the dim of those rows is bound to this value); 0 after create.
  int64_t stateRows() const { return stateRows_; }
  /// Keeps the first `rows` (0..stateRows()) of every state: 0 starts a new
  /// sequence. Nothing is freed or cleared.
  Status resetState(int64_t rows = 0);
  /// Paged KV pools kept in session state (StateInfo::pages): copies page
  /// `from` onto page `to` in every pool, on the device (copy-on-write of a
  /// shared page); nothing crosses to the host.
  Status copyStatePage(int64_t from, int64_t to);

  const Model &model() const { return *model_; }
  const std::string &backendName() const { return options_.backend; }
  const SessionOptions &options() const { return options_; }
  /// The CUstream runs are queued on (the caller's or the session's own);
  /// null on the host backend.
  void *stream() const;

private:
  Session() = default;
  StatusOr<std::vector<Tensor>> orderInputs(const std::map<std::string, Tensor> &inputs) const;
  /// Checks the inputs and binds the model's symbolic dims from their
  /// shapes (dimValues_), then tells the backend.
  Status checkInputs(const std::vector<Tensor> &inputs);
  /// The shapes of the model's outputs for the bound dims.
  StatusOr<std::vector<std::vector<int64_t>>> outputShapes() const;

  std::shared_ptr<const Model> model_;
  SessionOptions options_;
  std::unique_ptr<BackendSession> impl_;
  std::vector<int64_t> dimValues_; // of model().dims(), from the last run's inputs
  int64_t stateRows_ = 0;
  RunProfile *nextProfile_ = nullptr; // profileNextRun
  /// After a run that succeeded: the states hold the presents' rows.
  Status advanceState();
};

} // namespace effc
