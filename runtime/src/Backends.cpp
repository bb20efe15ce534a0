// Backend lookup by name. "host" is built in; "cuda" is reported as not built
// until a CUDA backend registers itself with registerBackend("cuda", ...).
#include "effc/Backend.h"
#include "HostBackend.h"

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
    if (it != factories().end()) return it->second();
  }
  if (name == "host") return makeHostBackend();
  if (name == "cuda")
    return Status::error("backend 'cuda' is not available: this runtime was built without the CUDA backend");
  return Status::error("unknown backend '" + name + "' (known: host, cuda)");
}

} // namespace effc
