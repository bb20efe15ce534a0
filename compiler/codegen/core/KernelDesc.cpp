//===- KernelDesc.cpp - attribute access with the host kernels' defaults --===//
#include "compiler/codegen/core/KernelDesc.h"

namespace effc::codegen {

void LaunchDims::followRuntime(int axis, const Extent &count, int64_t perBlock, int64_t cap) {
  if (!count.isConstant() && cap > 1)
    runtimeGrid.push_back(RuntimeGrid{axis, count, perBlock, cap});
}

bool KernelDesc::usesDims() const {
  for (const auto *list : {&inputs, &outputs})
    for (const TensorDesc &t : *list)
      if (t.present && t.symbolic())
        return true;
  return false;
}

int64_t KernelDesc::intAttr(const std::string &key, int64_t dflt) const {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return dflt;
  if (auto *i = std::get_if<int64_t>(&it->second))
    return *i;
  if (auto *f = std::get_if<double>(&it->second))
    return int64_t(*f);
  return dflt;
}

double KernelDesc::floatAttr(const std::string &key, double dflt) const {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return dflt;
  if (auto *f = std::get_if<double>(&it->second))
    return *f;
  if (auto *i = std::get_if<int64_t>(&it->second))
    return double(*i);
  return dflt;
}

std::string KernelDesc::stringAttr(const std::string &key, const std::string &dflt) const {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return dflt;
  if (auto *s = std::get_if<std::string>(&it->second))
    return *s;
  return dflt;
}

std::optional<std::vector<int64_t>> KernelDesc::intsAttr(const std::string &key) const {
  auto it = attrs.find(key);
  if (it == attrs.end())
    return std::nullopt;
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  return std::nullopt;
}

int64_t KernelChoice::param(const std::string &key, int64_t dflt) const {
  for (const auto &[name, value] : params)
    if (name == key)
      return value;
  return dflt;
}

void KernelChoice::setParam(const std::string &key, int64_t value) {
  for (auto &[name, old] : params)
    if (name == key) {
      old = value;
      return;
    }
  params.emplace_back(key, value);
}

std::string toString(const KernelChoice &c) {
  auto dims = [](const uint32_t(&d)[3]) {
    return "(" + std::to_string(d[0]) + "," + std::to_string(d[1]) + "," + std::to_string(d[2]) +
           ")";
  };
  std::string text = c.family + " " + c.variant;
  for (const auto &[name, value] : c.params)
    text += " " + name + "=" + std::to_string(value);
  text += " grid=" + dims(c.launch.grid) + " block=" + dims(c.launch.block) +
          " smem=" + std::to_string(c.launch.sharedBytes);
  // Runtime grid dims: "grid.x=ceil((64 * effc_dims[0] + 192)/256)<=65".
  for (const RuntimeGrid &g : c.launch.runtimeGrid)
    text += std::string(" grid.") + "xyz"[g.axis] + "=ceil(" + g.count.text() + "/" +
            std::to_string(g.perBlock) + ")<=" + std::to_string(g.cap);
  if (!c.tensorMaps.empty())
    text += " tensor_maps=" + std::to_string(c.tensorMaps.size());
  return text;
}

} // namespace effc::codegen
