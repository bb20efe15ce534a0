#include "effc/Tensor.h"

#include "host/Element.h"

#include <algorithm>

namespace effc {

int64_t numElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d != 0 && n > INT64_MAX / d)
      return -1;
    n *= d;
  }
  return n;
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t &d : shape_)
    d = std::max<int64_t>(d, 0);
  int64_t n = effc::numElements(shape_);
  bytes_.assign(n < 0 ? 0 : size_t(n) * dtypeSize(dtype), 0);
}

HostTensor HostTensor::copyOf(const Tensor &view) {
  HostTensor t(view.dtype, view.shape);
  if (view.data && t.byteSize())
    std::memcpy(t.data(), view.data, t.byteSize());
  return t;
}

double HostTensor::elementAsDouble(int64_t i) const {
  return host::loadF(dtype_, bytes_.data(), size_t(i));
}

} // namespace effc
