// DeviceTensor: device memory shared by copies, freed by the last one.
#include "cuda/DeviceMemory.h"

namespace effc {
namespace cuda {

SharedStream ownedStream(const Driver &d, CUstream s) {
  const Driver *driver = &d;
  return SharedStream(s, [driver](CUstream st) {
    if (st && driver->makeCurrent().ok()) {
      driver->api.cuStreamSynchronize(st);
      driver->api.cuStreamDestroy(st);
    }
  });
}

SharedStream borrowedStream(CUstream s) {
  return SharedStream(s, [](CUstream) {});
}

} // namespace cuda

namespace detail {

DeviceAllocation::~DeviceAllocation() {
  if (!ptr || !driver->makeCurrent().ok())
    return;
  if (stream)
    driver->api.cuMemFreeAsync(ptr, stream.get());
  else
    driver->api.cuMemFree(ptr);
}

StatusOr<std::shared_ptr<DeviceAllocation>> allocateDevice(const cuda::Driver &d, size_t bytes,
                                                           const cuda::SharedStream &stream) {
  auto a = std::make_shared<DeviceAllocation>();
  a->driver = &d;
  a->bytes = bytes;
  if (!bytes)
    return a;
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  std::string what = "allocating " + std::to_string(bytes) + " bytes of device memory";
  if (stream) {
    EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemAllocAsync(&a->ptr, bytes, stream.get()), what));
    a->stream = stream;
  } else {
    EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemAlloc(&a->ptr, bytes), what));
  }
  return a;
}

} // namespace detail

DeviceTensor::DeviceTensor(DType dtype, std::vector<int64_t> shape,
                           std::shared_ptr<detail::DeviceAllocation> memory)
    : dtype_(dtype), shape_(std::move(shape)), memory_(std::move(memory)) {
  if (memory_) {
    data_ = reinterpret_cast<void *>(memory_->ptr);
    deviceIndex_ = memory_->driver->ordinal;
  }
}

StatusOr<DeviceTensor> DeviceTensor::allocate(DType dtype, std::vector<int64_t> shape,
                                              int deviceIndex) {
  int64_t n = effc::numElements(shape);
  if (n < 0 || !dtypeSize(dtype))
    return Status::error("DeviceTensor::allocate: bad dtype or shape " + shapeToString(shape));
  auto d = cuda::getDriver(deviceIndex);
  if (!d.ok())
    return d.status();
  auto mem = detail::allocateDevice(**d, size_t(n) * dtypeSize(dtype), nullptr);
  if (!mem.ok())
    return mem.status();
  return DeviceTensor(dtype, std::move(shape), std::move(*mem));
}

StatusOr<DeviceTensor> DeviceTensor::copyOf(const Tensor &host, int deviceIndex) {
  if (host.device != Device::Host)
    return Status::error("DeviceTensor::copyOf: the source must be a host tensor");
  auto t = allocate(host.dtype, host.shape, deviceIndex);
  if (!t.ok() || !t->byteSize())
    return t;
  const cuda::Driver &d = *t->memory_->driver;
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyHtoD(t->memory_->ptr, host.data, t->byteSize()),
                               "copying a tensor to the device"));
  // A pageable cuMemcpyHtoD may return before its DMA lands.
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuCtxSynchronize(), "copying a tensor to the device"));
  return t;
}

StatusOr<HostTensor> DeviceTensor::toHost() const {
  HostTensor h(dtype_, shape_);
  if (!memory_ || !h.byteSize())
    return h;
  const cuda::Driver &d = *memory_->driver;
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  cuda::CUstream s = memory_->stream.get(); // null: the legacy stream
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyDtoHAsync(h.data(), memory_->ptr, h.byteSize(), s),
                               "copying a tensor to the host"));
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuStreamSynchronize(s), "copying a tensor to the host"));
  return h;
}

} // namespace effc
