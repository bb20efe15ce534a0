// What the tests of the kernels over rows of logits (DeviceArgmaxTest,
// DeviceSamplerTest; runtime/src/cuda/RowKernel.h) share: the NVRTC compile
// check of the kernel's module and the logits in float32, fp16 or bf16.
#pragma once

#include "CudaTestUtil.h"
#include "effc/DType.h"
#include "effc/Tensor.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace effc::test {

/// `source` (the module of the device file `file`) compiles with NVRTC for
/// sm_80, sm_90 and sm_90a, each cubin holding the kernel `entry`.
inline void expectCompilesForSm80Sm90Sm90a(const std::string &source, const std::string &entry,
                                           const std::string &file) {
  ASSERT_NE(source.find(entry), std::string::npos);
  for (const char *arch : {"sm_80", "sm_90", "sm_90a"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {}), file);
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    EXPECT_NE(std::find(fns->begin(), fns->end(), entry), fns->end()) << arch;
  }
}

/// `x` as a host tensor of `dtype` (float32, bfloat16 or float16, rounded
/// to nearest-even) and `shape`.
inline HostTensor logitsAs(DType dtype, const std::vector<int64_t> &shape,
                           const std::vector<float> &x) {
  HostTensor host(dtype, shape);
  for (size_t i = 0; i < x.size(); ++i) {
    if (dtype == DType::FLOAT32)
      host.data<float>()[i] = x[i];
    else if (dtype == DType::BFLOAT16)
      host.data<uint16_t>()[i] = floatToBf16(x[i]);
    else
      host.data<uint16_t>()[i] = floatToHalf(x[i]);
  }
  return host;
}

} // namespace effc::test
