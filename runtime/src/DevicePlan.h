// The device plan of an artifact (effc --devices=N, issue 20): which device
// runs each kernel (Kernel.device) and the collective ops that join them
// (eff.all_reduce / eff.all_gather: ODS Eff_Collective, EffOp.h
// isCollectiveOp). The reader checks it once (checkDevicePlan); the backends
// read it through collectiveOf and placeKernels, so both run one plan.
#pragma once

#include "EffOp.h"
#include "effc/Status.h"
#include "runtime/proto/artifact.pb.h"

#include <optional>
#include <vector>

namespace effc {

/// A collective kernel: operand i comes from device devices[i % |devices|]
/// (eff.ring_attention's q, k and v blocks and the token exchange below take
/// several inputs a device, one group of |devices| each); the result is on
/// every device. all_gather joins along `axis`.
struct CollectiveKernel {
  EffOp op;
  std::vector<int> devices;
  int64_t axis = 0;
  int deviceOf(size_t input) const { return devices[input % devices.size()]; }
  /// The token exchange of expert parallelism (eff.expert_dispatch: 3 inputs
  /// and 3 outputs a device; eff.expert_combine: 2 inputs, 1 output): output o
  /// is on device devices[o % |devices|] alone; device i holds experts
  /// expertSplits[i] .. expertSplits[i + 1] - 1.
  std::vector<int64_t> expertSplits;
  /// Inputs a device (1 for all_reduce / all_gather).
  int inputsPerDevice() const;
  /// Outputs a device, each on its device alone; 0: one output on every device.
  int outputsPerDevice() const;
  /// The device that alone holds output o, or -1: every device.
  int outputDevice(size_t o) const { return outputsPerDevice() ? deviceOf(o) : -1; }
  /// Whether `devices` is exactly 0, 1, .., n - 1 (position p on rank p: the
  /// cuda backend's ring and token exchange address ranks by position).
  bool devicesInOrder(size_t n) const {
    for (size_t i = 0; i < devices.size(); ++i)
      if (devices[i] != int(i))
        return false;
    return devices.size() == n;
  }
};

/// Manifest.devices, every Kernel.device within it, and each collective op:
/// only in a plan of more than one device, on every device (Kernel.device
/// 0), one output, a `devices` list with one distinct device per input and
/// (all_gather) an `axis` below the output's rank. A Kernel.collective
/// string (written by an effc before the collective ops) is refused: this
/// runtime knows no collective by that name. Errors name the kernel.
Status checkDevicePlan(const artifact::Manifest &m);

/// The collective of kernel `k` (checked by checkDevicePlan), or nullopt
/// when it is not a collective op.
std::optional<CollectiveKernel> collectiveOf(const artifact::Kernel &k);

/// Where each kernel runs and where its inputs are, for `devices` > 1.
struct Placement {
  std::vector<int> runsOn;                 ///< per kernel: a device, or -1: every device
  std::vector<std::vector<int>> inputFrom; ///< per kernel input: the device holding it, -1: all
  std::vector<int> outputFrom;             ///< per output binding: the same
};

/// The placement of the artifact's kernels on `devices` (= Manifest.devices
/// > 1): a buffer a placed kernel writes is on its device alone, what a
/// replicated or collective kernel writes is on every device. Fails naming
/// the kernel (prefixed by `path`) when a kernel that is not a collective
/// reads data only another device holds.
StatusOr<Placement> placeKernels(const artifact::Manifest &m, int devices, const std::string &path);

} // namespace effc
