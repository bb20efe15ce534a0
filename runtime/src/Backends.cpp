// Backend lookup by name. "host" and "cuda" are built in; registerBackend()
// can add or replace entries (tests, out-of-tree backends).
#include "HostBackend.h"
#include "cuda/CudaBackend.h"
#include "effc/Backend.h"

#include <map>
#include <mutex>

namespace effc {

static std::mutex &registryMutex() {
  static std::mutex m;
  return m;
}
static std::map<std::string, BackendFactory> &factories() {
  static std::map<std::string, BackendFactory> f;
  return f;
}

void registerBackend(const std::string &name, BackendFactory factory) {
  std::lock_guard<std::mutex> lock(registryMutex());
  factories()[name] = std::move(factory);
}

StatusOr<std::shared_ptr<Backend>> getBackend(const std::string &name) {
  {
    std::lock_guard<std::mutex> lock(registryMutex());
    auto it = factories().find(name);
    if (it != factories().end())
      return it->second();
  }
  if (name == "host")
    return makeHostBackend();
  if (name == "cuda")
    return makeCudaBackend();
  return Status::error("unknown backend '" + name + "' (known: host, cuda)");
}

} // namespace effc
