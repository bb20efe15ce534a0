//===- WeightQuantizer.cpp - weight-only quantization math ----------------===//
#include "compiler/quant/WeightQuantizer.h"

#include "host/QuantLinear.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>

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
    std::array<float, 256> out{};
    std::copy(std::begin(host::kDynamicMap8), std::end(host::kDynamicMap8), out.begin());
    return out;
  }();
  return map;
}

std::vector<uint8_t> doubleQuantizeBytes(const std::vector<float> &values) {
  const int64_t count = int64_t(values.size());
  std::vector<uint8_t> out(size_t(host::dqScaleBytes(count)), 0);
  double sum = 0;
  for (float v : values)
    sum += v;
  const float offset = values.empty() ? 0.f : float(sum / double(values.size()));
  uint8_t *floats = out.data() + QL_DQ_PAD(count);
  for (int64_t b0 = 0; b0 < count; b0 += QL_DQ_GROUP) {
    const int64_t b1 = std::min(count, b0 + QL_DQ_GROUP);
    float absmax = 0;
    for (int64_t i = b0; i < b1; ++i)
      absmax = std::max(absmax, std::fabs(values[size_t(i)] - offset));
    for (int64_t i = b0; i < b1; ++i) {
      const float x = absmax > 0 ? (values[size_t(i)] - offset) / absmax : 0.f;
      out[size_t(i)] = uint8_t(nearestCode(host::kDynamicMap8, 256, x));
    }
    std::memcpy(floats + 4 * (b0 / QL_DQ_GROUP), &absmax, 4);
  }
  std::memcpy(floats + 4 * QL_DQ_GROUPS(count), &offset, 4);
  return out;
}

std::vector<float> doubleQuantize(const std::vector<float> &values) {
  const std::vector<uint8_t> bytes = doubleQuantizeBytes(values);
  std::vector<float> out(values.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = host::dqAbsmax(bytes.data(), int64_t(values.size()), int64_t(i));
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
  if (doubleQuant) {
    p.scaleBytes = doubleQuantizeBytes(absmax);
    p.scales.clear();
    p.scalesShape = {int64_t(p.scaleBytes.size())};
  } else {
    p.scales = std::move(absmax);
  }
  return p;
}

} // namespace effc::quant
