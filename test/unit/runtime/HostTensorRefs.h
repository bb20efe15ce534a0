// Host kernel tests: HostTensors viewed as kernel operands, and fp32 literals.
#pragma once

#include "effc/Tensor.h"
#include "host/HostKernels.h"

#include <vector>

namespace effc::test {

inline host::ConstTensorRef cref(const HostTensor &t) { return {t.dtype(), t.shape(), t.data()}; }
inline host::TensorRef ref(HostTensor &t) { return {t.dtype(), t.shape(), t.data()}; }
inline HostTensor f32(std::vector<int64_t> shape, std::vector<float> v) {
  return HostTensor::fromVector<float>(DType::FLOAT32, std::move(shape), v);
}

} // namespace effc::test
