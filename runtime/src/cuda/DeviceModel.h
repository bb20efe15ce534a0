// The per-device state of one Model, shared by all its cuda sessions: the
// loaded CUDA module (embedded cubin or NVRTC JIT), the kernel functions and
// the weights, uploaded once.
#pragma once

#include "cuda/DriverApi.h"
#include "effc/Model.h"

#include <map>
#include <memory>
#include <string>

namespace effc::cuda {

class DeviceModel {
public:
  /// The DeviceModel of `model` on the driver's device, created on first use
  /// and shared while any session holds it.
  static StatusOr<std::shared_ptr<DeviceModel>> get(const Driver &driver,
                                                    const std::shared_ptr<const Model> &model);
  ~DeviceModel();

  const std::string &arch() const { return arch_; }
  /// How the module was obtained: "embedded cubin", "NVRTC cache", "NVRTC (12.3 ms)".
  const std::string &origin() const { return origin_; }
  CUfunction function(const std::string &name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : it->second;
  }
  CUdeviceptr weights() const { return weights_; }

private:
  explicit DeviceModel(const Driver &d) : driver_(d) {}
  Status init(const Model &model);

  const Driver &driver_;
  std::string arch_, origin_;
  CUmodule module_ = nullptr;
  std::map<std::string, CUfunction> functions_;
  CUdeviceptr weights_ = 0;
};

} // namespace effc::cuda
