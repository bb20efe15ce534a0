// One emulated run of a decode GEMV kernel of tensor_core_gemm.cuh
// (tcg_decode_gemv, tcg_decode_gemv_rows) over config C, the part its tests
// (DecodeGemvEmuTest, WgmmaTmaEmuTest) share: small integer operands (A
// [M][K], B [K][LDB] or [N][LDB] with C::TRANS_B, 16-byte aligned as device
// allocations are; a bias where C::HAS_BIAS) in C::A_TYPE (bf16 or fp16), so
// every fp32 sum is exact; C [M][N] NaN-poisoned; a launch of kCtas CTAs of
// kThreads threads (2 warps); and the check that rows past the run's stay
// poisoned and each stored value equals the reference, through the
// kernel's epilogue, rounded to the output type.
//
// Include it after CudaEmulation.h and tensor_core_gemm.cuh (in namespace
// emu, with `inline Dim3 gridDim` beside it).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

template <class C> struct DecodeGemvCase {
  static constexpr bool F16 = C::A_TYPE == emu::TCG_F16;
  static constexpr unsigned kCtas = 3, kThreads = 64;

  static uint16_t toBits(float f) { return F16 ? emu::f32_to_f16(f) : emu::f32_to_bf16(f); }
  static float toF32(uint16_t h) { return F16 ? emu::f16_to_f32(h) : emu::bf16_to_f32(h); }

  explicit DecodeGemvCase(uint32_t seed)
      : rng(seed), bStore((size_t(C::TRANS_B ? C::N : C::K) * C::LDB + 7) / 8),
        b(reinterpret_cast<uint16_t *>(bStore.data())) {
    a = fill(size_t(C::M) * C::K);
    for (size_t i = 0; i < size_t(C::TRANS_B ? C::N : C::K) * C::LDB; ++i)
      b[i] = toBits(float(small(rng)));
    bias = fill(size_t(C::N));
  }

  /// Runs `kernel` (the emulated kernel's call over a, b, biasOrNull(), c,
  /// red) on every thread of the launch.
  template <class Kernel> void launch(Kernel kernel) {
    emu::gridDim = {kCtas, 1, 1};
    emu::launch(kCtas, 1, kernel, kThreads);
  }

  const uint16_t *biasOrNull() const { return C::HAS_BIAS ? bias.data() : nullptr; }

  /// Checks C after a run of `rows` rows with epilogue `epi` (reports at
  /// most 5 wrong elements).
  template <class Epilogue> void check(int rows, Epilogue epi) const {
    int bad = 0;
    for (int m = 0; m < C::M; ++m)
      for (int n = 0; n < C::N; ++n) {
        const uint16_t got = c[size_t(m) * C::N + n];
        if (m >= rows) {
          if (got != 0xFFFF && bad++ < 5)
            ADD_FAILURE() << "written past the run's rows at " << m << "," << n;
          continue;
        }
        double s = 0;
        for (int k = 0; k < C::K; ++k)
          s += double(toF32(a[size_t(m) * C::K + k])) *
               double(toF32(C::TRANS_B ? b[size_t(n) * C::LDB + k] : b[size_t(k) * C::LDB + n]));
        const double biased = C::ALPHA * s + (C::HAS_BIAS ? double(toF32(bias[size_t(n)])) : 0.0);
        const float want = epi(float(biased), 0, m, n);
        if (got != toBits(want) && bad++ < 5)
          ADD_FAILURE() << "C[" << m << "][" << n << "] = " << toF32(got) << ", want " << want;
      }
  }

  std::mt19937 rng;
  std::uniform_int_distribution<int> small{-2, 2};
  struct alignas(16) Chunk {
    uint16_t h[8];
  };
  std::vector<uint16_t> a, bias;
  std::vector<Chunk> bStore;
  uint16_t *b;
  std::vector<uint16_t> c = std::vector<uint16_t>(size_t(C::M) * C::N, 0xFFFF); // NaN: poisoned
  std::vector<float> red = std::vector<float>(2 * 256); // 2 warps x max(64, W) floats

private:
  std::vector<uint16_t> fill(size_t n) {
    std::vector<uint16_t> v(n);
    for (uint16_t &x : v)
      x = toBits(float(small(rng)));
    return v;
  }
};
