// Finding libnvrtc: users with only a driver + NVRTC have it on the loader
// path; toolkit installs keep it in $CUDA_HOME/lib64, which is often not.
#include "cuda/DynLib.h"
#include "cuda/Nvrtc.h"
#include "cuda/NvrtcApi.h"

#include <sys/stat.h>

namespace effc::cuda {
namespace {

bool isDir(const std::string &p) {
  struct stat st;
  return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> candidates() {
  std::string forced = getEnv("EFFC_NVRTC_PATH");
  if (!forced.empty())
    return {forced};
  const char *sonames[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  std::vector<std::string> out(std::begin(sonames), std::end(sonames));
  std::vector<std::string> dirs;
  std::string home = getEnv("CUDA_HOME");
  if (!home.empty())
    dirs.push_back(home + "/lib64");
  dirs.push_back("/usr/local/cuda/lib64");
  for (const std::string &d : dirs)
    if (isDir(d))
      for (const char *s : sonames)
        out.push_back(d + "/" + s);
  return out;
}

template <typename F> void resolve(void *lib, F &f, const char *name, std::string *missing) {
  f = reinterpret_cast<F>(symbol(lib, name));
  if (!f)
    *missing += (missing->empty() ? "" : ", ") + std::string(name);
}

StatusOr<const NvrtcApi *> loadNvrtc() {
  std::string why, path;
  void *lib = openFirst(candidates(), &path, &why);
  if (!lib) {
    std::string forced = getEnv("EFFC_NVRTC_PATH");
    return Status::error("nvrtc: cannot load " +
                         (forced.empty() ? std::string("libnvrtc") : "EFFC_NVRTC_PATH=" + forced) +
                         " (install the CUDA NVRTC library or set EFFC_NVRTC_PATH): " + why);
  }
  static NvrtcApi a;
  a.libraryPath = path;
  std::string missing;
  resolve(lib, a.nvrtcGetErrorString, "nvrtcGetErrorString", &missing);
  resolve(lib, a.nvrtcVersion, "nvrtcVersion", &missing);
  resolve(lib, a.nvrtcCreateProgram, "nvrtcCreateProgram", &missing);
  resolve(lib, a.nvrtcDestroyProgram, "nvrtcDestroyProgram", &missing);
  resolve(lib, a.nvrtcCompileProgram, "nvrtcCompileProgram", &missing);
  resolve(lib, a.nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize", &missing);
  resolve(lib, a.nvrtcGetProgramLog, "nvrtcGetProgramLog", &missing);
  resolve(lib, a.nvrtcGetCUBINSize, "nvrtcGetCUBINSize", &missing);
  resolve(lib, a.nvrtcGetCUBIN, "nvrtcGetCUBIN", &missing);
  if (!missing.empty())
    return Status::error("nvrtc: " + path + " lacks " + missing + " (NVRTC 11.1+ needed)");
  if (a.nvrtcVersion(&a.major, &a.minor) != NVRTC_SUCCESS)
    return Status::error("nvrtc: nvrtcVersion failed in " + path);
  return static_cast<const NvrtcApi *>(&a);
}

} // namespace

StatusOr<const NvrtcApi *> getNvrtc() {
  static const StatusOr<const NvrtcApi *> api = loadNvrtc();
  return api;
}

} // namespace effc::cuda

namespace effc::nvrtc {

Status load() {
  auto a = cuda::getNvrtc();
  return a.ok() ? Status::OK() : a.status();
}

StatusOr<std::string> version() {
  auto a = cuda::getNvrtc();
  if (!a.ok())
    return a.status();
  return std::to_string((*a)->major) + "." + std::to_string((*a)->minor);
}

} // namespace effc::nvrtc
