// dlopen helpers shared by the driver and NVRTC loaders. The runtime never
// links libcuda or libnvrtc: a binary built here must start on machines
// without a driver and report the missing library as an error.
#pragma once

#include <string>
#include <vector>

namespace effc::cuda {

/// dlopen()s the first of `names` that loads (RTLD_NOW | RTLD_LOCAL).
/// On failure returns nullptr and sets `*why` to the dlerror() of each try.
void *openFirst(const std::vector<std::string> &names, std::string *loadedName, std::string *why);

/// dlsym(); nullptr when absent.
void *symbol(void *lib, const char *name);

/// Environment variable or "" when unset.
std::string getEnv(const char *name);
/// False only for "0", "false", "off", "no" (case-sensitive); `dflt` when unset.
bool envFlag(const char *name, bool dflt);

} // namespace effc::cuda
