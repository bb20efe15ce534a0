#include "DevicePlan.h"

#include <set>
#include <string>

namespace effc {

namespace {

std::string where(const artifact::Kernel &k, int i) {
  return "kernel " + std::to_string(i) + " (" + k.op() +
         (k.location().empty() ? "" : " at " + k.location()) + ")";
}

/// The buffer at the end of `id`'s alias chain (validated acyclic).
int32_t rootOf(const artifact::Manifest &m, int32_t id) {
  for (int steps = 0;
       m.buffers(id).storage() == artifact::Buffer::ALIAS && steps <= m.buffers_size(); ++steps)
    id = int32_t(m.buffers(id).alias_of());
  return id;
}

} // namespace

std::optional<CollectiveKernel> collectiveOf(const artifact::Kernel &k) {
  std::optional<EffOp> op = lookupEffOp(k.op());
  if (!op || !isCollectiveOp(*op))
    return std::nullopt;
  CollectiveKernel c{*op, {}, 0};
  if (auto it = k.attrs().find("devices"); it != k.attrs().end())
    for (int64_t d : it->second.ints().values())
      c.devices.push_back(int(d));
  if (auto it = k.attrs().find("axis"); it != k.attrs().end())
    c.axis = it->second.i();
  if (auto it = k.attrs().find("expert_splits"); it != k.attrs().end())
    c.expertSplits.assign(it->second.ints().values().begin(), it->second.ints().values().end());
  return c;
}

int CollectiveKernel::inputsPerDevice() const {
  switch (op) {
  case EffOp::RingAttentionOp:  // q, k, v blocks
  case EffOp::ExpertDispatchOp: // x, experts, weights
    return 3;
  case EffOp::ExpertCombineOp: // y, experts
    return 2;
  default:
    return 1;
  }
}

int CollectiveKernel::outputsPerDevice() const {
  return op == EffOp::ExpertDispatchOp ? 3 : op == EffOp::ExpertCombineOp ? 1 : 0;
}

Status checkDevicePlan(const artifact::Manifest &m) {
  auto fail = [](const std::string &msg) { return Status::error(msg); };
  const int64_t devices = std::max<int64_t>(1, m.devices());
  if (devices > 4096)
    return fail("devices " + std::to_string(m.devices()) + " (at most 4096)");
  for (int k = 0; k < m.kernels_size(); ++k) {
    const artifact::Kernel &kr = m.kernels(k);
    if (!kr.collective().empty())
      return fail(where(kr, k) + ": unknown collective '" + kr.collective() +
                  "' (Kernel.collective): this runtime runs the collective ops eff.all_reduce "
                  "and eff.all_gather; recompile the model with this effc");
    if (kr.device() > uint32_t(devices) || (devices == 1 && kr.device() > 0))
      return fail(where(kr, k) + ": on device " + std::to_string(int64_t(kr.device()) - 1) +
                  " of a plan for " + std::to_string(devices) + " device(s)");
    std::optional<CollectiveKernel> c = collectiveOf(kr);
    if (!c)
      continue;
    if (devices == 1)
      return fail(where(kr, k) + ": a collective in a manifest without a device plan "
                                 "(Manifest.devices <= 1)");
    if (kr.device() != 0)
      return fail(where(kr, k) + ": a collective runs on every device, not on device " +
                  std::to_string(kr.device() - 1));
    const size_t outs = c->outputsPerDevice() ? c->outputsPerDevice() * c->devices.size() : 1;
    if (size_t(kr.outputs_size()) != outs)
      return fail(where(kr, k) + ": " + std::to_string(kr.outputs_size()) + " outputs (" +
                  (c->outputsPerDevice() ? "want " + std::to_string(outs) + ": " +
                                               std::to_string(c->outputsPerDevice()) + " a device"
                                         : std::string("a collective has one")) +
                  ")");
    if (c->outputsPerDevice() && c->expertSplits.size() != c->devices.size() + 1)
      return fail(where(kr, k) + ": 'expert_splits' has " + std::to_string(c->expertSplits.size()) +
                  " entries for " + std::to_string(c->devices.size()) + " devices (want one more)");
    const size_t groups = size_t(c->inputsPerDevice());
    if (c->devices.size() * groups != size_t(kr.inputs_size()) || c->devices.empty())
      return fail(where(kr, k) + ": " + std::to_string(kr.inputs_size()) + " inputs and " +
                  std::to_string(c->devices.size()) + " entries in its 'devices' attribute (" +
                  (groups == 1 ? std::string("one device per input)")
                               : std::to_string(groups) + " inputs per device)"));
    std::set<int> seen;
    for (size_t i = 0; i < c->devices.size(); ++i) {
      const int d = c->devices[i];
      if (d < 0 || d >= devices || !seen.insert(d).second)
        return fail(where(kr, k) + ": input " + std::to_string(i) + " on device " +
                    std::to_string(d) + ": outside 0.." + std::to_string(devices - 1) +
                    " or given twice");
    }
    for (int i = 0; i < kr.inputs_size(); ++i)
      if (kr.inputs(i) < 0)
        return fail(where(kr, k) + ": input " + std::to_string(i) + " is absent");
    if (c->op == EffOp::AllGatherOp) {
      const int32_t out = kr.outputs(0);
      const int rank = out >= 0 && out < m.buffers_size() ? m.buffers(out).shape_size() : 0;
      if (!kr.attrs().count("axis") || c->axis < 0 || c->axis >= rank)
        return fail(where(kr, k) + ": axis " + std::to_string(c->axis) +
                    " missing or outside the output's rank " + std::to_string(rank));
    }
  }
  return Status::OK();
}

StatusOr<Placement> placeKernels(const artifact::Manifest &m, int devices,
                                 const std::string &path) {
  Placement p;
  std::vector<int> owner(size_t(m.buffers_size()), -1); // [root buffer]
  for (int k = 0; k < m.kernels_size(); ++k) {
    const artifact::Kernel &kr = m.kernels(k);
    const int at = int(kr.device()) - 1;
    if (at >= devices)
      return Status::error(path + ": " + where(kr, k) + ": device " + std::to_string(at) + " of " +
                           std::to_string(devices));
    std::optional<CollectiveKernel> c = collectiveOf(kr);
    std::vector<int> from;
    for (int i = 0; i < kr.inputs_size(); ++i) {
      const int32_t id = kr.inputs(i);
      const int src = id < 0 ? -1 : owner[size_t(rootOf(m, id))];
      from.push_back(src);
      if (src < 0 || src == at)
        continue;
      if (c && src == c->deviceOf(size_t(i)))
        continue;
      return Status::error(
          path + ": " + where(kr, k) + " (" +
          (at < 0 ? std::string("on every device") : "on device " + std::to_string(at)) +
          ") reads buffer " + std::to_string(id) + " (input " + std::to_string(i) +
          "), which only device " + std::to_string(src) + " computed; " +
          (c ? "its 'devices' attribute says device " + std::to_string(c->deviceOf(size_t(i)))
             : std::string("another device's data needs a collective")));
    }
    p.runsOn.push_back(c ? -1 : at);
    p.inputFrom.push_back(std::move(from));
    for (int o = 0; o < kr.outputs_size(); ++o)
      owner[size_t(rootOf(m, kr.outputs(o)))] = c ? c->outputDevice(size_t(o)) : at;
  }
  for (const artifact::Binding &b : m.outputs())
    p.outputFrom.push_back(owner[size_t(rootOf(m, int32_t(b.buffer())))]);
  return p;
}

} // namespace effc
