// Tensor types of the public API. Tensor is a non-owning view of input data
// (host or CUDA device memory); MutableTensor a caller-owned buffer a session
// writes an output into; HostTensor and DeviceTensor own their bytes (what
// sessions hand back).
#pragma once

#include "effc/DType.h"
#include "effc/Status.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace effc {

enum class Device { Host, Cuda };

/// Product of the dims (1 for a scalar); -1 when a dim is negative or the
/// product overflows int64.
int64_t numElements(const std::vector<int64_t> &shape);
/// "[2, 3, 4]".
std::string shapeToString(const std::vector<int64_t> &shape);

/// A view of caller-owned, C-order (row-major), densely packed data. With
/// device == Device::Cuda, `data` is a CUDA device pointer (a CUdeviceptr or
/// what cudaMalloc returns) on device `deviceIndex`.
struct Tensor {
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  Device device = Device::Host;
  int deviceIndex = 0;

  int64_t numElements() const { return effc::numElements(shape); }
  size_t byteSize() const {
    int64_t n = numElements();
    return n < 0 ? 0 : size_t(n) * dtypeSize(dtype);
  }
};

/// A caller-owned buffer (host, or CUDA device memory on `deviceIndex`) that
/// Session::runInto writes one output into; same layout rules as Tensor.
struct MutableTensor {
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape;
  void *data = nullptr;
  Device device = Device::Host;
  int deviceIndex = 0;

  int64_t numElements() const { return effc::numElements(shape); }
  size_t byteSize() const {
    int64_t n = numElements();
    return n < 0 ? 0 : size_t(n) * dtypeSize(dtype);
  }
  Tensor view() const { return Tensor{dtype, shape, data, device, deviceIndex}; }
};

/// An owning host tensor (C order, densely packed).
class HostTensor {
public:
  HostTensor() = default;
  /// Zero-filled tensor; a negative dim is treated as 0.
  HostTensor(DType dtype, std::vector<int64_t> shape);
  /// Copies `data` (byteSize() bytes).
  static HostTensor copyOf(const Tensor &view);
  template <typename T>
  static HostTensor fromVector(DType dtype, std::vector<int64_t> shape,
                               const std::vector<T> &values) {
    HostTensor t(dtype, std::move(shape));
    if (size_t n = std::min(t.byteSize(), values.size() * sizeof(T)))
      std::memcpy(t.data(), values.data(), n);
    return t;
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const { return effc::numElements(shape_); }
  size_t byteSize() const { return bytes_.size(); }
  void *data() { return bytes_.data(); }
  const void *data() const { return bytes_.data(); }
  template <typename T> T *data() { return reinterpret_cast<T *>(bytes_.data()); }
  template <typename T> const T *data() const { return reinterpret_cast<const T *>(bytes_.data()); }
  /// Element i converted to double (any dtype); for printing and comparing.
  double elementAsDouble(int64_t i) const;
  Tensor view() const { return Tensor{dtype_, shape_, bytes_.data(), Device::Host}; }
  MutableTensor mutableView() { return MutableTensor{dtype_, shape_, bytes_.data(), Device::Host}; }

private:
  DType dtype_ = DType::UNDEFINED;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

namespace detail {
struct DeviceAllocation; // runtime-internal: the memory and how to free it
}

/// An owning tensor in CUDA device memory (C order, densely packed). Copies
/// share the memory (reference counted); it is freed when the last copy is
/// destroyed (for tensors a session returned: stream-ordered on that
/// session's stream, which therefore stays alive until then). A DeviceTensor
/// may be used from any thread; the bytes are not synchronized for you: with
/// a caller stream, work on other streams must wait for that stream.
class DeviceTensor {
public:
  DeviceTensor() = default; // empty: data() is null
  /// Uninitialized device memory for `shape` on device `deviceIndex`
  /// (cuMemAlloc; needs the CUDA driver).
  static StatusOr<DeviceTensor> allocate(DType dtype, std::vector<int64_t> shape,
                                         int deviceIndex = 0);
  /// A device copy of a host tensor (synchronous).
  static StatusOr<DeviceTensor> copyOf(const Tensor &host, int deviceIndex = 0);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const { return effc::numElements(shape_); }
  size_t byteSize() const {
    int64_t n = numElements();
    return n < 0 ? 0 : size_t(n) * dtypeSize(dtype_);
  }
  /// The device pointer (CUdeviceptr / cudaMalloc-style), null when empty.
  void *data() const { return data_; }
  int deviceIndex() const { return deviceIndex_; }
  Tensor view() const { return Tensor{dtype_, shape_, data_, Device::Cuda, deviceIndex_}; }
  MutableTensor mutableView() const {
    return MutableTensor{dtype_, shape_, data_, Device::Cuda, deviceIndex_};
  }
  /// Copies the bytes to the host, after the work queued on the tensor's
  /// stream so far.
  StatusOr<HostTensor> toHost() const;

  /// Runtime-internal: adopts `memory` (see runtime/src/cuda/DeviceMemory.h).
  DeviceTensor(DType dtype, std::vector<int64_t> shape,
               std::shared_ptr<detail::DeviceAllocation> memory);

private:
  DType dtype_ = DType::UNDEFINED;
  std::vector<int64_t> shape_;
  std::shared_ptr<detail::DeviceAllocation> memory_;
  void *data_ = nullptr;
  int deviceIndex_ = 0;
};

} // namespace effc
