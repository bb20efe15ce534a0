//===- DeviceCode.cpp - the embedded device code (*.cuh) ------------------===//
#include "compiler/codegen/device/DeviceCode.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace effc::codegen {

namespace {
struct DeviceFile {
  const char *name;
  const char *text;
};
#include "DeviceFiles.inc"
} // namespace

std::string_view deviceFile(std::string_view name) {
  for (const DeviceFile &f : kDeviceFiles)
    if (name == f.name)
      return f.text;
  std::fprintf(stderr, "effc: no embedded device file '%.*s'\n", int(name.size()), name.data());
  std::abort();
}

std::string deviceSources(std::initializer_list<std::string_view> names) {
  std::string text;
  std::vector<std::string_view> seen;
  for (std::string_view name : names) {
    bool dup = false;
    for (std::string_view s : seen)
      dup = dup || s == name;
    if (dup)
      continue;
    seen.push_back(name);
    text += deviceFile(name);
  }
  return text;
}

} // namespace effc::codegen
