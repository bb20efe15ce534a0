#include "cuda/DriverApi.h"

#include "cuda/DynLib.h"

#include <map>
#include <memory>
#include <mutex>

namespace effc::cuda {
namespace {

// Resolves `f` from the first name the driver exports. Versioned names come
// first: the unversioned cuMemAlloc etc. are the 32-bit-era ABI.
template <typename F>
bool resolve(void *lib, F &f, std::initializer_list<const char *> names, std::string *missing) {
  for (const char *n : names)
    if (void *p = symbol(lib, n)) {
      f = reinterpret_cast<F>(p);
      return true;
    }
  *missing += (missing->empty() ? "" : ", ") + std::string(*names.begin());
  return false;
}

constexpr const char *kUseHost = "; pass backend \"host\" for the reference backend";

Status noGpu(const std::string &why) {
  return Status::error("cuda backend: no CUDA driver/GPU found (" + why + ")" + kUseHost);
}

// The library and cuInit, once per process; the returned Driver has api and
// driverVersion set, no device yet.
StatusOr<const Driver *> loadDriverLibrary() {
  std::string why;
  void *lib = openFirst({"libcuda.so.1"}, nullptr, &why);
  if (!lib)
    return noGpu("libcuda.so.1 not found: " + why);
  static Driver d; // lives until exit
  DriverApi &a = d.api;
  std::string missing;
#define EFFC_RESOLVE(field, ...) resolve(lib, a.field, {__VA_ARGS__}, &missing)
  EFFC_RESOLVE(cuInit, "cuInit");
  EFFC_RESOLVE(cuGetErrorString, "cuGetErrorString");
  EFFC_RESOLVE(cuGetErrorName, "cuGetErrorName");
  EFFC_RESOLVE(cuDriverGetVersion, "cuDriverGetVersion");
  EFFC_RESOLVE(cuDeviceGetCount, "cuDeviceGetCount");
  EFFC_RESOLVE(cuDeviceGet, "cuDeviceGet");
  EFFC_RESOLVE(cuDeviceGetAttribute, "cuDeviceGetAttribute");
  EFFC_RESOLVE(cuDeviceGetName, "cuDeviceGetName");
  EFFC_RESOLVE(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  EFFC_RESOLVE(cuCtxSetCurrent, "cuCtxSetCurrent");
  EFFC_RESOLVE(cuModuleLoadData, "cuModuleLoadData");
  EFFC_RESOLVE(cuModuleUnload, "cuModuleUnload");
  EFFC_RESOLVE(cuModuleGetFunction, "cuModuleGetFunction");
  EFFC_RESOLVE(cuFuncSetAttribute, "cuFuncSetAttribute");
  EFFC_RESOLVE(cuLaunchKernel, "cuLaunchKernel");
  EFFC_RESOLVE(cuMemAlloc, "cuMemAlloc_v2");
  EFFC_RESOLVE(cuMemFree, "cuMemFree_v2");
  EFFC_RESOLVE(cuMemsetD8, "cuMemsetD8_v2");
  EFFC_RESOLVE(cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  EFFC_RESOLVE(cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  EFFC_RESOLVE(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  EFFC_RESOLVE(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  EFFC_RESOLVE(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  EFFC_RESOLVE(cuMemcpy2DAsync, "cuMemcpy2DAsync_v2");
  EFFC_RESOLVE(cuMemAllocAsync, "cuMemAllocAsync");
  EFFC_RESOLVE(cuMemFreeAsync, "cuMemFreeAsync");
  EFFC_RESOLVE(cuPointerGetAttribute, "cuPointerGetAttribute");
  EFFC_RESOLVE(cuStreamCreate, "cuStreamCreate");
  EFFC_RESOLVE(cuStreamDestroy, "cuStreamDestroy_v2", "cuStreamDestroy");
  EFFC_RESOLVE(cuStreamSynchronize, "cuStreamSynchronize");
  // The unversioned cuStreamBeginCapture takes no mode argument: _v2 only.
  EFFC_RESOLVE(cuStreamBeginCapture, "cuStreamBeginCapture_v2");
  EFFC_RESOLVE(cuStreamEndCapture, "cuStreamEndCapture");
  EFFC_RESOLVE(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
  EFFC_RESOLVE(cuGraphLaunch, "cuGraphLaunch");
  EFFC_RESOLVE(cuGraphExecDestroy, "cuGraphExecDestroy");
  EFFC_RESOLVE(cuGraphDestroy, "cuGraphDestroy");
  EFFC_RESOLVE(cuGraphCreate, "cuGraphCreate");
  // CudaKernelNodeParams is the v2 struct, whose prefix is v1: either works.
  EFFC_RESOLVE(cuGraphAddKernelNode, "cuGraphAddKernelNode_v2", "cuGraphAddKernelNode");
  EFFC_RESOLVE(cuGraphExecKernelNodeSetParams, "cuGraphExecKernelNodeSetParams_v2",
               "cuGraphExecKernelNodeSetParams");
  EFFC_RESOLVE(cuEventCreate, "cuEventCreate");
  EFFC_RESOLVE(cuEventRecord, "cuEventRecord");
  EFFC_RESOLVE(cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime");
  EFFC_RESOLVE(cuEventSynchronize, "cuEventSynchronize");
  EFFC_RESOLVE(cuCtxSynchronize, "cuCtxSynchronize");
  EFFC_RESOLVE(cuEventDestroy, "cuEventDestroy_v2", "cuEventDestroy");
  EFFC_RESOLVE(cuStreamWaitEvent, "cuStreamWaitEvent");
#undef EFFC_RESOLVE
  if (void *p = symbol(lib, "cuTensorMapEncodeTiled")) // optional
    a.cuTensorMapEncodeTiled = reinterpret_cast<decltype(a.cuTensorMapEncodeTiled)>(p);
  if (!missing.empty())
    return Status::error("cuda backend: libcuda.so.1 lacks " + missing +
                         " (driver too old? CUDA 12+ needed)");
  CUresult r = a.cuInit(0);
  if (r == CUDA_ERROR_NO_DEVICE)
    return noGpu("cuInit: " + d.errorText(r));
  if (r == CUDA_ERROR_STUB_LIBRARY)
    return noGpu("the libcuda.so.1 found is the CUDA toolkit's stub, not a driver");
  EFFC_RETURN_IF_ERROR(d.check(r, "cuInit"));
  a.cuDriverGetVersion(&d.driverVersion);
  return static_cast<const Driver *>(&d);
}

StatusOr<const Driver *> initDevice(const Driver &lib, int ordinal) {
  const DriverApi &a = lib.api;
  int count = 0;
  EFFC_RETURN_IF_ERROR(lib.check(a.cuDeviceGetCount(&count), "cuDeviceGetCount"));
  if (count == 0)
    return noGpu("the driver reports no device");
  if (ordinal < 0 || ordinal >= count)
    return Status::error("cuda backend: device " + std::to_string(ordinal) + " requested, " +
                         std::to_string(count) + " present (SessionOptions::device, default " +
                         "from EFFC_CUDA_DEVICE)");
  auto d = std::make_unique<Driver>(lib); // api and driver version
  d->ordinal = ordinal;
  EFFC_RETURN_IF_ERROR(d->check(a.cuDeviceGet(&d->device, ordinal), "cuDeviceGet"));
  EFFC_RETURN_IF_ERROR(d->check(
      a.cuDeviceGetAttribute(&d->ccMajor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->device),
      "cuDeviceGetAttribute"));
  EFFC_RETURN_IF_ERROR(d->check(
      a.cuDeviceGetAttribute(&d->ccMinor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->device),
      "cuDeviceGetAttribute"));
  char name[256] = {0};
  if (a.cuDeviceGetName(name, sizeof(name) - 1, d->device) == CUDA_SUCCESS)
    d->deviceName = name;
  EFFC_RETURN_IF_ERROR(
      d->check(a.cuDevicePrimaryCtxRetain(&d->context, d->device), "cuDevicePrimaryCtxRetain"));
  EFFC_RETURN_IF_ERROR(d->makeCurrent());
  return static_cast<const Driver *>(d.release()); // lives (with its context) until exit
}

} // namespace

std::string Driver::errorText(CUresult r) const {
  const char *name = nullptr, *text = nullptr;
  if (api.cuGetErrorName)
    api.cuGetErrorName(r, &name);
  if (api.cuGetErrorString)
    api.cuGetErrorString(r, &text);
  std::string s = name ? name : "CUDA error " + std::to_string(r);
  if (text)
    s += std::string(" (") + text + ")";
  return s;
}

Status Driver::check(CUresult r, const std::string &what) const {
  if (r == CUDA_SUCCESS)
    return Status::OK();
  return Status::error("cuda backend: " + what + ": " + errorText(r));
}

Status Driver::makeCurrent() const {
  return check(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

StatusOr<const Driver *> getDriver(int ordinal) {
  // Magic static: loaded once, thread-safe; a failure is remembered too.
  static const StatusOr<const Driver *> library = loadDriverLibrary();
  if (!library.ok())
    return library.status();
  static std::mutex mu;
  static std::map<int, StatusOr<const Driver *>> devices;
  std::lock_guard<std::mutex> lock(mu);
  auto it = devices.find(ordinal);
  if (it == devices.end())
    it = devices.emplace(ordinal, initDevice(**library, ordinal)).first;
  return it->second;
}

} // namespace effc::cuda
