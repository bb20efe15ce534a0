// The cuda backend's own device modules (cuda/RuntimeModule.h): NVRTC
// through the kernel cache, cuModuleLoadData, the function look-ups.
#include "cuda/RuntimeModule.h"

#include "cuda/Nvrtc.h"

namespace effc::cuda {

int runtimeDtypeCode(DType t) {
  switch (t) {
  case DType::FLOAT32:
    return 0;
  case DType::FLOAT16:
    return 1;
  case DType::BFLOAT16:
    return 2;
  default:
    return -1;
  }
}

Status loadRuntimeModule(const Driver &d, const SessionOptions &options, const std::string &source,
                         const std::string &what, const std::string &file,
                         std::initializer_list<std::pair<CUfunction *, const char *>> functions) {
  const std::string arch = nvrtc::archForComputeCapability(d.ccMajor, d.ccMinor);
  auto c = nvrtc::compileCached(
      source, arch, {}, options.kernelCache ? nvrtc::cacheDirectory(options.kernelCacheDir) : "");
  if (!c.ok())
    return Status::error("cuda backend: compiling " + what + " (" + file + ") for " + arch + ": " +
                         c.status().message());
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  CUmodule module = nullptr;
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuModuleLoadData(&module, c->cubin.data()),
                               "loading " + what + " (" + file + ")"));
  for (auto [fn, name] : functions)
    EFFC_RETURN_IF_ERROR(
        d.check(d.api.cuModuleGetFunction(fn, module, name),
                std::string("finding ") + name + " in " + what + " (" + file + ")"));
  return Status::OK();
}

} // namespace effc::cuda
