// Tensor types of the public API. Tensor is a non-owning view (what callers
// pass in); HostTensor owns its bytes (what sessions hand back).
#pragma once

#include "effc/DType.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace effc {

enum class Device { Host, Cuda };

/// Product of the dims (1 for a scalar); -1 when a dim is negative or the
/// product overflows int64.
int64_t numElements(const std::vector<int64_t> &shape);
/// "[2, 3, 4]".
std::string shapeToString(const std::vector<int64_t> &shape);

/// A view of caller-owned, C-order (row-major), densely packed data.
struct Tensor {
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  Device device = Device::Host;

  int64_t numElements() const { return effc::numElements(shape); }
  size_t byteSize() const {
    int64_t n = numElements();
    return n < 0 ? 0 : size_t(n) * dtypeSize(dtype);
  }
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

private:
  DType dtype_ = DType::UNDEFINED;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

} // namespace effc
