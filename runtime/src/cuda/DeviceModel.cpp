#include "cuda/DeviceModel.h"

#include "ModelManifest.h"
#include "cuda/CudaManifest.h"
#include "cuda/Nvrtc.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <tuple>

namespace effc::cuda {

StatusOr<std::shared_ptr<DeviceModel>> DeviceModel::get(const Driver &driver,
                                                        const std::shared_ptr<const Model> &model,
                                                        const SessionOptions &options) {
  std::string arch = options.cudaArch.empty()
                         ? nvrtc::archForComputeCapability(driver.ccMajor, driver.ccMinor)
                         : options.cudaArch; // e.g. sm_90a for wgmma kernels
  // An artifact compiled for an arch-specific target (--arch=sm_90a: wgmma
  // kernels) runs on a device of its base arch only, JIT or embedded cubin.
  const std::string &needed = manifestOf(*model).cuda_arch();
  if (options.cudaArch.empty() && !needed.empty() && needed != arch) {
    if (needed != arch + "a")
      return Status::error(model->path() + ": compiled for " + needed +
                           " (its kernels need that arch), but cuda:" +
                           std::to_string(driver.ordinal) + " is " + arch);
    arch = needed;
  }
  // Keyed by address: a live entry implies a live session, which holds the
  // Model, so the address cannot have been reused.
  using Key = std::tuple<const Model *, int, std::string>;
  static std::mutex mu;
  static std::map<Key, std::weak_ptr<DeviceModel>> live;
  std::lock_guard<std::mutex> lock(mu); // also serializes JIT of one model
  Key key{model.get(), driver.ordinal, arch};
  if (auto dm = live[key].lock()) {
    if (options.verbosity >= 1)
      std::fprintf(stderr, "effc: %s: cuda:%d %s: reusing the loaded module (%s)\n",
                   model->path().c_str(), driver.ordinal, arch.c_str(), dm->origin().c_str());
    return dm;
  }
  std::shared_ptr<DeviceModel> dm(new DeviceModel(driver));
  dm->arch_ = arch;
  Status st = dm->init(*model, options);
  if (!st.ok())
    return st.withPrefix(model->path());
  if (options.verbosity >= 1)
    std::fprintf(stderr, "effc: %s: cuda:%d (%s) %s: %d kernels from %s, %llu bytes of weights\n",
                 model->path().c_str(), driver.ordinal, driver.deviceName.c_str(), arch.c_str(),
                 manifestOf(*model).kernels_size(), dm->origin().c_str(),
                 (unsigned long long)model->weightsSize());
  live[key] = dm;
  for (auto it = live.begin(); it != live.end();)
    it = it->second.expired() ? live.erase(it) : std::next(it);
  return dm;
}

Status DeviceModel::init(const Model &model, const SessionOptions &options) {
  const artifact::Manifest &m = manifestOf(model);
  EFFC_RETURN_IF_ERROR(driver_.makeCurrent());

  if (m.kernels_size() > 0) {
    auto embedded = embeddedCubin(m, model.payload(), arch_);
    if (!embedded.ok())
      return embedded.status();
    std::string cubin;
    if (*embedded) {
      cubin = std::move(**embedded);
      origin_ = "embedded cubin";
    } else {
      auto source = cudaSource(m, model.payload());
      if (!source.ok())
        return source.status().withPrefix("cuda backend: no cubin for " + arch_);
      std::vector<std::string> extra(m.nvrtc_options().begin(), m.nvrtc_options().end());
      std::string cacheDir =
          options.kernelCache ? nvrtc::cacheDirectory(options.kernelCacheDir) : std::string();
      auto c = nvrtc::compileCached(*source, arch_, extra, cacheDir);
      if (!c.ok())
        return c.status().withPrefix("cuda backend: JIT for " + arch_);
      origin_ = c->fromCache
                    ? "NVRTC cache " + cacheDir
                    : "NVRTC (" + std::to_string(int(c->ms)) + " ms" +
                          (cacheDir.empty() ? ", no cache" : ", cached in " + cacheDir) + ")";
      cubin = std::move(c->cubin);
    }
    EFFC_RETURN_IF_ERROR(driver_.check(driver_.api.cuModuleLoadData(&module_, cubin.data()),
                                       "loading the " + arch_ + " module (" + origin_ + ")"));
    std::map<std::string, uint32_t> maxShared;
    for (int i = 0; i < m.kernels_size(); ++i) {
      const artifact::Kernel &k = m.kernels(i);
      if (k.source().empty()) // a collective (checkKernels): Collectives.h runs it
        continue;
      uint32_t &s = maxShared[k.source()];
      s = std::max(s, k.launch().shared_bytes());
      if (functions_.count(k.source()))
        continue;
      CUfunction f = nullptr;
      CUresult r = driver_.api.cuModuleGetFunction(&f, module_, k.source().c_str());
      if (r != CUDA_SUCCESS)
        return Status::error(kernelWhere(k, i) + ": CUDA kernel '" + k.source() +
                             "' not found in the " + arch_ + " module (" + origin_ +
                             "): " + driver_.errorText(r));
      functions_[k.source()] = f;
    }
    // Beyond 48 KiB of dynamic shared memory a kernel must opt in.
    for (auto &[name, bytes] : maxShared)
      if (bytes > 48 * 1024)
        EFFC_RETURN_IF_ERROR(driver_.check(
            driver_.api.cuFuncSetAttribute(
                functions_[name], CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(bytes)),
            "kernel '" + name + "': allowing " + std::to_string(bytes) +
                " bytes of dynamic shared memory"));
  }

  if (uint64_t n = model.weightsSize()) {
    EFFC_RETURN_IF_ERROR(driver_.check(driver_.api.cuMemAlloc(&weights_, n),
                                       "allocating " + std::to_string(n) + " bytes of weights"));
    EFFC_RETURN_IF_ERROR(driver_.check(driver_.api.cuMemcpyHtoD(weights_, model.weightsData(), n),
                                       "uploading weights"));
    // A pageable cuMemcpyHtoD may return before its DMA lands, and sessions
    // run on non-blocking streams that do not wait for the legacy stream.
    EFFC_RETURN_IF_ERROR(driver_.check(driver_.api.cuCtxSynchronize(), "uploading weights"));
  }
  return Status::OK();
}

DeviceModel::~DeviceModel() {
  if (driver_.makeCurrent().ok()) {
    if (module_)
      driver_.api.cuModuleUnload(module_);
    if (weights_)
      driver_.api.cuMemFree(weights_);
  }
}

} // namespace effc::cuda
