// The GPU setup the benches share (effc-attention-bench, effc-moe-bench,
// effc-quant-bench): the driver opened through the runtime's dlopen()ed
// DriverApi (no CUDA headers or libraries at build time), driver calls
// checked with a message naming the bench and the call, cubins loaded as
// modules (unloaded with the Gpu), launches, and event timing of single
// calls. Header-only (#include "bench/common/BenchGpu.h"); nothing here runs without a
// GPU, so --compile-only and --help never reach it.
#pragma once

#include "compiler/codegen/core/KernelDesc.h"
#include "cuda/DriverApi.h"
#include "cuda/Nvrtc.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace effc::bench {

/// The device, its arch (`arch` when not empty, else its compute
/// capability's) and a "device: NAME (ARCH)" line; nullptr after a message
/// "TOOL: why" on stderr when there is no driver or device.
inline const cuda::Driver *openDevice(const char *tool, std::string &arch) {
  auto d = cuda::getDriver();
  if (!d.ok()) {
    std::fprintf(stderr, "%s: %s\n", tool, d.status().message().c_str());
    return nullptr;
  }
  const cuda::Driver *drv = *d;
  if (arch.empty())
    arch = nvrtc::archForComputeCapability(drv->ccMajor, drv->ccMinor);
  std::printf("device: %s (%s)\n", drv->deviceName.c_str(), arch.c_str());
  return drv;
}

/// Driver calls of one bench on one stream (the legacy default stream unless
/// a bench sets `stream_`). A failed call prints "TOOL: WHAT: driver error"
/// and marks the Gpu failed until clearFailure().
class Gpu {
public:
  Gpu(const cuda::Driver *d, const char *tool) : d_(d), a_(d->api), tool_(tool) {}
  Gpu(const Gpu &) = delete;
  Gpu &operator=(const Gpu &) = delete;
  /// Unloads the modules still loaded (each once: unloadModule takes its
  /// module off the list).
  ~Gpu() {
    for (cuda::CUmodule m : modules_)
      ok(a_.cuModuleUnload(m), "cuModuleUnload (at exit)");
  }

  bool ok(cuda::CUresult r, const std::string &what) {
    if (r == cuda::CUDA_SUCCESS)
      return true;
    std::fprintf(stderr, "%s: %s: %s\n", tool_, what.c_str(), d_->errorText(r).c_str());
    failed_ = true;
    return false;
  }
  bool failed() const { return failed_; }
  void clearFailure() { failed_ = false; }
  const cuda::DriverApi &api() const { return a_; }
  cuda::CUstream stream() const { return stream_; }

  /// At least 256 bytes; 0 when the allocation failed.
  cuda::CUdeviceptr alloc(size_t bytes) {
    cuda::CUdeviceptr p = 0;
    ok(a_.cuMemAlloc(&p, std::max<size_t>(bytes, 256)), "cuMemAlloc " + std::to_string(bytes));
    return p;
  }
  void free(cuda::CUdeviceptr p) {
    if (p)
      ok(a_.cuMemFree(p), "cuMemFree");
  }
  cuda::CUdeviceptr upload(const void *host, size_t bytes) {
    cuda::CUdeviceptr p = alloc(bytes);
    if (p)
      ok(a_.cuMemcpyHtoD(p, host, bytes), "cuMemcpyHtoD");
    return p;
  }
  cuda::CUdeviceptr upload(const std::vector<uint8_t> &host) {
    return upload(host.data(), host.size());
  }
  /// `cubin` as a module (unloaded with the Gpu); nullptr when it fails.
  cuda::CUmodule loadModule(const std::string &cubin, const std::string &what = "") {
    cuda::CUmodule m = nullptr;
    if (!ok(a_.cuModuleLoadData(&m, cubin.data()),
            what.empty() ? "cuModuleLoadData" : "cuModuleLoadData " + what))
      return nullptr;
    modules_.push_back(m);
    return m;
  }
  /// Unloads a module of loadModule before the Gpu goes (its destructor
  /// then leaves it alone: unloading a handle twice is a use after free in
  /// the driver). False, with a message, for a handle this Gpu does not hold.
  bool unloadModule(cuda::CUmodule m) {
    auto it = std::find(modules_.begin(), modules_.end(), m);
    if (!m || it == modules_.end()) {
      std::fprintf(stderr, "%s: cuModuleUnload: module %p is not loaded here (unloaded twice?)\n",
                   tool_, (void *)m);
      failed_ = true;
      return false;
    }
    modules_.erase(it);
    return ok(a_.cuModuleUnload(m), "cuModuleUnload");
  }
  /// Modules loaded and not yet unloaded.
  size_t loadedModules() const { return modules_.size(); }
  /// Kernel `name` of `m` with `smem` bytes of dynamic shared memory allowed
  /// (set above the 48 KiB default); nullptr when any step fails.
  cuda::CUfunction function(cuda::CUmodule m, const std::string &name, uint32_t smem = 0) {
    cuda::CUfunction f = nullptr;
    if (!m || !ok(a_.cuModuleGetFunction(&f, m, name.c_str()), "cuModuleGetFunction " + name))
      return nullptr;
    if (smem > 48 * 1024 &&
        !ok(a_.cuFuncSetAttribute(f, cuda::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                  int(smem)),
            "cuFuncSetAttribute " + name))
      return nullptr;
    return f;
  }
  /// The tensor maps `descs` (cuTensorMapEncodeTiled's parameters, over
  /// the device address of operand desc.arg) encoded into `out`; false after
  /// a message when the driver lacks the encoder or a call fails.
  bool encodeTensorMaps(const std::vector<codegen::TensorMapDesc> &descs,
                        const std::vector<cuda::CUdeviceptr> &operands,
                        std::vector<cuda::CuTensorMap> &out) {
    if (!descs.empty() && !a_.cuTensorMapEncodeTiled) {
      std::fprintf(stderr, "%s: the driver lacks cuTensorMapEncodeTiled\n", tool_);
      failed_ = true;
      return false;
    }
    for (const codegen::TensorMapDesc &m : descs) {
      cuda::CuTensorMap t;
      const std::vector<unsigned long long> dims(m.dims.begin(), m.dims.end()),
          strides(m.strides.begin(), m.strides.end());
      const int type = m.dtype == DType::FLOAT16   ? cuda::CU_TENSOR_MAP_DATA_TYPE_FLOAT16
                       : m.dtype == DType::FLOAT32 ? cuda::CU_TENSOR_MAP_DATA_TYPE_FLOAT32
                                                   : cuda::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
      if (!ok(a_.cuTensorMapEncodeTiled(&t, type, unsigned(m.dims.size()),
                                        reinterpret_cast<void *>(operands.at(size_t(m.arg))),
                                        dims.data(), strides.data(), m.box.data(),
                                        m.elementStrides.data(), m.interleave, m.swizzle,
                                        m.l2Promotion, m.oobFill),
              "cuTensorMapEncodeTiled"))
        return false;
      out.push_back(t);
    }
    return true;
  }
  bool launch(cuda::CUfunction f, const codegen::LaunchDims &l, std::vector<void *> params) {
    return ok(a_.cuLaunchKernel(f, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
                                l.block[2], l.sharedBytes, stream_, params.data(), nullptr),
              "cuLaunchKernel");
  }
  bool sync(const std::string &what) {
    return ok(a_.cuStreamSynchronize(stream_), "sync after " + what);
  }

protected:
  const cuda::Driver *d_;
  const cuda::DriverApi &a_;
  const char *tool_;
  std::vector<cuda::CUmodule> modules_;
  bool failed_ = false;
  cuda::CUstream stream_ = nullptr;
};

/// Event times (ms) of `reps` single calls of `step` on g's stream after
/// `warm` warm-up calls; fewer when a call fails.
template <class G, class Step> std::vector<float> eventTimes(G &g, int warm, int reps, Step step) {
  const cuda::DriverApi &a = g.api();
  cuda::CUevent e0 = nullptr, e1 = nullptr;
  std::vector<float> t;
  if (g.ok(a.cuEventCreate(&e0, cuda::CU_EVENT_DEFAULT), "cuEventCreate") &&
      g.ok(a.cuEventCreate(&e1, cuda::CU_EVENT_DEFAULT), "cuEventCreate")) {
    for (int i = 0; i < warm; ++i)
      step();
    g.sync("warm-up");
    for (int r = 0; r < reps && !g.failed(); ++r) {
      if (!g.ok(a.cuEventRecord(e0, g.stream()), "cuEventRecord (start)"))
        break;
      step();
      if (!g.ok(a.cuEventRecord(e1, g.stream()), "cuEventRecord (end)") || !g.sync("timed call"))
        break;
      float ms = 0;
      if (g.ok(a.cuEventElapsedTime(&ms, e0, e1), "cuEventElapsedTime"))
        t.push_back(ms);
    }
  }
  // Events that were never created are not destroyed.
  if (e0)
    g.ok(a.cuEventDestroy(e0), "cuEventDestroy");
  if (e1)
    g.ok(a.cuEventDestroy(e1), "cuEventDestroy");
  return t;
}

/// The median of `t`, `empty` when there is none.
template <class T> double median(std::vector<T> t, double empty) {
  if (t.empty())
    return empty;
  std::sort(t.begin(), t.end());
  return double(t[t.size() / 2]);
}

} // namespace effc::bench
