//===- WeightQuantizer.cpp - weight-only quantization math ----------------===//
#include "compiler/quant/WeightQuantizer.h"

#include "host/QuantLinear.h"

#include <algorithm>
#include <cmath>

namespace effc::quant {

int nearestCode(const float *book, int size, float x) {
  int best = 0;
  for (int i = 1; i < size; ++i)
    if (std::fabs(book[i] - x) < std::fabs(book[best] - x))
      best = i;
  return best;
}

PackedWeight quantizeInt8(const float *w, int64_t K, int64_t N, int64_t block) {
  const int64_t bs = block > 0 ? std::min(block, K) : K;
  const int64_t blocks = (K + bs - 1) / bs;
  PackedWeight p;
  p.blockSize = bs;
  p.codesShape = {N, blocks, bs};
  p.scalesShape = {N, blocks};
  p.codes.assign(size_t(N * blocks * bs), 128); // padding codes decode to 0
  p.scales.assign(size_t(N * blocks), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t k0 = b * bs, k1 = std::min(K, k0 + bs);
      float absmax = 0;
      for (int64_t k = k0; k < k1; ++k)
        absmax = std::max(absmax, std::fabs(w[k * N + n]));
      // An all-zero block keeps scale 1: every code is the zero point.
      const float scale = absmax > 0 ? absmax / 127.f : 1.f;
      p.scales[size_t(n * blocks + b)] = scale;
      for (int64_t k = k0; k < k1; ++k) {
        const float q = std::nearbyint(w[k * N + n] / scale);
        p.codes[size_t((n * blocks + b) * bs + (k - k0))] =
            uint8_t(int(std::clamp(q, -127.f, 127.f)) + 128);
      }
    }
  return p;
}

const std::array<float, 256> &dynamicMap8() {
  static const std::array<float, 256> map = [] {
    // bitsandbytes create_dynamic_map(signed=True, max_exponent_bits=7,
    // total_bits=8): for exponent i, 2^i linearly spaced means in (0.1, 1]
    // scaled by 10^(i - 6), both signs; then 0 and 1.
    std::vector<float> data;
    for (int i = 0; i < 7; ++i) {
      const int items = (1 << i) + 1;
      const float scale = float(std::pow(10.0, double(i - 6)));
      for (int j = 0; j + 1 < items; ++j) {
        // torch.linspace(0.1, 1, items) in fp32, then midpoints.
        const float lo = 0.1f + (1.f - 0.1f) * float(j) / float(items - 1);
        const float hi = 0.1f + (1.f - 0.1f) * float(j + 1) / float(items - 1);
        const float mean = (lo + hi) / 2.f;
        data.push_back(scale * mean);
        data.push_back(-scale * mean);
      }
    }
    data.push_back(0.f);
    data.push_back(1.f);
    std::sort(data.begin(), data.end());
    std::array<float, 256> out{};
    std::copy(data.begin(), data.end(), out.begin());
    return out;
  }();
  return map;
}

std::vector<float> doubleQuantize(const std::vector<float> &values) {
  if (values.empty())
    return {};
  double sum = 0;
  for (float v : values)
    sum += v;
  const float offset = float(sum / double(values.size()));
  const std::array<float, 256> &map = dynamicMap8();
  std::vector<float> out(values.size());
  constexpr size_t kBlock = 256;
  for (size_t b0 = 0; b0 < values.size(); b0 += kBlock) {
    const size_t b1 = std::min(values.size(), b0 + kBlock);
    float absmax = 0;
    for (size_t i = b0; i < b1; ++i)
      absmax = std::max(absmax, std::fabs(values[i] - offset));
    for (size_t i = b0; i < b1; ++i) {
      const float x = absmax > 0 ? (values[i] - offset) / absmax : 0.f;
      out[i] = map[size_t(nearestCode(map.data(), 256, x))] * absmax + offset;
    }
  }
  return out;
}

PackedWeight quantizeNF4(const float *w, int64_t K, int64_t N, int64_t block, bool doubleQuant) {
  const int64_t total = N * K, blocks = (total + block - 1) / block;
  PackedWeight p;
  p.blockSize = block;
  p.codesShape = {(total + 1) / 2};
  p.scalesShape = {blocks};
  p.codes.assign(size_t((total + 1) / 2), 0);
  p.scales.assign(size_t(blocks), 0.f);
  auto at = [&](int64_t f) { return w[(f % K) * N + f / K]; }; // W^T flattened: f = n*K + k
  std::vector<float> absmax(size_t(blocks), 0.f);
  for (int64_t f = 0; f < total; ++f)
    absmax[size_t(f / block)] = std::max(absmax[size_t(f / block)], std::fabs(at(f)));
  // Codes come from the exact absmax; bitsandbytes then double-quantizes the
  // absmaxes it used, and dequantization reads those.
  for (int64_t f = 0; f < total; ++f) {
    const float m = absmax[size_t(f / block)];
    const uint8_t code = uint8_t(nearestCode(host::kNF4CodeBook, 16, m > 0 ? at(f) / m : 0.f));
    p.codes[size_t(f / 2)] |= f % 2 ? code : uint8_t(code << 4);
  }
  p.scales = doubleQuant ? doubleQuantize(absmax) : absmax;
  return p;
}

} // namespace effc::quant
