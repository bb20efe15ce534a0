#include "cuda/DynLib.h"

#include <cstdlib>
#include <dlfcn.h>

namespace effc::cuda {

void *openFirst(const std::vector<std::string> &names, std::string *loadedName, std::string *why) {
  std::string errors;
  for (const std::string &n : names) {
    if (void *h = dlopen(n.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      if (loadedName)
        *loadedName = n;
      return h;
    }
    const char *e = dlerror();
    errors += (errors.empty() ? "" : "; ") + std::string(e ? e : n + ": cannot load");
  }
  if (why)
    *why = errors;
  return nullptr;
}

void *symbol(void *lib, const char *name) { return lib ? dlsym(lib, name) : nullptr; }

std::string getEnv(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

bool envFlag(const char *name, bool dflt) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return dflt;
  std::string s(v);
  return !(s == "0" || s == "false" || s == "off" || s == "no");
}

} // namespace effc::cuda
