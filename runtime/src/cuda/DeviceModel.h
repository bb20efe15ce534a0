// The per-device state of one Model, shared by all its cuda sessions on that
// device: the loaded CUDA module (embedded cubin or NVRTC JIT), the kernel
// functions and the weights, uploaded once.
#pragma once

#include "cuda/DriverApi.h"
#include "effc/Model.h"
#include "effc/SessionOptions.h"

#include <map>
#include <memory>
#include <string>

namespace effc::cuda {

class DeviceModel {
public:
  /// The DeviceModel of `model` on the driver's device for the target arch
  /// (options.cudaArch, else the device's), created on first use and shared
  /// while any session holds it. The kernel cache options of the session
  /// that creates it are the ones used: they decide only where the module
  /// comes from, never what it is. With options.verbosity >= 1 it prints one
  /// line on stderr: where the module came from, or that it was reused.
  static StatusOr<std::shared_ptr<DeviceModel>> get(const Driver &driver,
                                                    const std::shared_ptr<const Model> &model,
                                                    const SessionOptions &options);
  ~DeviceModel();

  const std::string &arch() const { return arch_; }
  /// How the module was obtained: "embedded cubin", "NVRTC cache DIR",
  /// "NVRTC (1234 ms)".
  const std::string &origin() const { return origin_; }
  CUfunction function(const std::string &name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : it->second;
  }
  CUdeviceptr weights() const { return weights_; }

private:
  explicit DeviceModel(const Driver &d) : driver_(d) {}
  Status init(const Model &model, const SessionOptions &options);

  const Driver &driver_;
  std::string arch_, origin_;
  CUmodule module_ = nullptr;
  std::map<std::string, CUfunction> functions_;
  CUdeviceptr weights_ = 0;
};

} // namespace effc::cuda
