//===- ModulePath.cpp - the PyTorch module an op came from -----------------===//
#include "dialects/eff/ModulePath.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace effc {

std::optional<std::string> getModulePath(Location loc) {
  std::optional<std::string> path;
  loc->walk([&](Location l) {
    if (auto fused = dyn_cast<FusedLoc>(l))
      if (auto s = dyn_cast_or_null<StringAttr>(fused.getMetadata())) {
        path = s.str();
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return path;
}

std::optional<std::string> getNodeName(Location loc) {
  std::optional<std::string> name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

} // namespace effc
