// Host emulation of the CUDA the device templates (compiler/codegen/device/
// *.cuh) use, for the emulation tests (MoEEmuTest, QuantMmaEmuTest): the
// templates compile as C++ in namespace emu with one std::thread per CUDA
// thread of a block (emu::launch), __syncthreads a block barrier, and the
// warp collectives (ldmatrix, mma.sync m16n8k16, warp_reduce, shuffles,
// ballot) emulated per warp from their PTX ISA definitions: each lane posts
// its registers, the warp meets at a barrier, each lane reads what the
// hardware would give it. cp.async is an immediate copy with zero fill;
// shared memory is the template's own static arrays (smem_u32 remembers the
// one array a kernel addresses by u32 offsets).
//
// Include it, then the .cuh files inside `namespace emu { ... }`; the macros
// below make their qualifiers plain C++ and keep primitives.cuh (real device
// code) out. A test adds what only its kernels need in its own emu block.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

namespace emu {

typedef signed char i8;
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;
struct uint4 {
  u32 x, y, z, w;
};
struct uint2 {
  u32 x, y;
};
struct float2 {
  float x, y;
};
struct float4 {
  float x, y, z, w;
};
inline uint4 make_uint4(u32 x, u32 y, u32 z, u32 w) { return {x, y, z, w}; }
inline float2 make_float2(float a, float b) { return {a, b}; }
struct Dim3 {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local Dim3 threadIdx, blockIdx;
inline Dim3 blockDim{256, 1, 1};

inline std::barrier<> *gBlock = nullptr;
inline unsigned char *gSmem = nullptr; // the one array a kernel addresses by u32

/// What the lanes of one warp post for a collective.
struct Warp {
  std::barrier<> bar{32};
  u32 addr[32];           // ldmatrix row addresses
  u32 a[32][4], b[32][2]; // mma.sync fragments
  double red[32];         // warp_reduce
  int iv[32];             // shuffles, ballot
};
inline Warp *gWarps = nullptr;

inline void __syncthreads() { gBlock->arrive_and_wait(); }
inline void __syncwarp() {}
template <class T> T __ldg(const T *p) { return *p; }
inline u32 smem_u32(const void *p) {
  gSmem = static_cast<unsigned char *>(const_cast<void *>(p)); // the same array in every thread
  return 0;
}
inline void cp_async16(u32 dst, const void *src, int bytes) {
  std::memset(gSmem + dst, 0, 16);
  std::memcpy(gSmem + dst, src, size_t(bytes));
}
inline void cp_async_commit() {}
template <int N> void cp_async_wait() {}
inline void st_shared_v4(u32 addr, u32 a, u32 b, u32 c, u32 d) {
  const u32 v[4] = {a, b, c, d};
  std::memcpy(gSmem + addr, v, 16);
}
// ldmatrix .x4: lane l gets, of matrix i, row l / 4 words l % 4 (the row
// address lane 8 i + l / 4 gave).
inline void ldsm_x4(u32 &r0, u32 &r1, u32 &r2, u32 &r3, u32 addr) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  w.addr[lane] = addr;
  w.bar.arrive_and_wait();
  u32 *r[4] = {&r0, &r1, &r2, &r3};
  for (int i = 0; i < 4; ++i)
    std::memcpy(r[i], gSmem + w.addr[8 * i + lane / 4] + 4 * (lane % 4), 4);
  w.bar.arrive_and_wait();
}

// 16-bit float conversions (round to nearest even), primitives.cuh's names.
inline float __uint_as_float(u32 u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline u32 __float_as_uint(float f) {
  u32 u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bf16_to_f32(u16 h) { return __uint_as_float(u32(h) << 16); }
inline u16 f32_to_bf16(float f) {
  u32 u = __float_as_uint(f);
  u += 0x7fffu + ((u >> 16) & 1u);
  return u16(u >> 16);
}
inline float f16_to_f32(u16 h) {
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return float(v);
}
inline u16 f32_to_f16(float f) {
  _Float16 v = _Float16(f);
  u16 h;
  std::memcpy(&h, &v, 2);
  return h;
}
// primitives.cuh's conversion names, as tensor_core_gemm.cuh calls them.
inline float cvt_f16_to_f32(u16 h) { return f16_to_f32(h); }
inline u16 cvt_f32_to_bf16(float f) { return f32_to_bf16(f); }
inline u16 cvt_f32_to_f16(float f) { return f32_to_f16(f); }
// shfl.sync.bfly (tcg_decode_gemv's butterflies): lane l reads lane l ^ o's value.
inline float __shfl_xor_sync(u32, float v, int o) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  w.red[lane] = v;
  w.bar.arrive_and_wait();
  const float r = float(w.red[lane ^ o]);
  w.bar.arrive_and_wait();
  return r;
}
// primitives.cuh's ld_stream_v4 (ld.global.nc.L1::no_allocate.v4.u32, read
// by tcg_decode_gemv_rows): a plain 16-byte load (checked aligned).
inline uint4 ld_stream_v4(const void *p) {
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << "misaligned 16-byte load";
  uint4 v;
  std::memcpy(&v, p, 16);
  return v;
}
// fma.rn.{bf16,f16}x2: each half a * b + c, rounded once.
template <bool BF> u32 fma2(u32 a, u32 b, u32 c) {
  u32 r = 0;
  for (int i = 0; i < 2; ++i) {
    auto f = [&](u32 x) {
      return BF ? bf16_to_f32(u16(x >> (16 * i))) : f16_to_f32(u16(x >> (16 * i)));
    };
    const double v = double(f(a)) * double(f(b)) + double(f(c)); // exact for these operands
    r |= u32(BF ? f32_to_bf16(float(v)) : f32_to_f16(float(v))) << (16 * i);
  }
  return r;
}
template <bool BF> u32 pack2(float lo, float hi) {
  return BF ? u32(f32_to_bf16(lo)) | u32(f32_to_bf16(hi)) << 16
            : u32(f32_to_f16(lo)) | u32(f32_to_f16(hi)) << 16;
}
// mma.sync.m16n8k16.row.col, g = lane / 4, t = lane % 4: A a0 (g, 2t..),
// a1 (g + 8, 2t..), a2 (g, 2t + 8..), a3 (g + 8, 2t + 8..); B b0 (k 2t..,
// n g), b1 (k 2t + 8.., n g); C/D c0 c1 (g, 2t, 2t + 1), c2 c3 (g + 8, ..).
template <bool BF> void mma_m16n8k16(float *d, const u32 *a, const u32 *b) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  std::memcpy(w.a[lane], a, 16);
  std::memcpy(w.b[lane], b, 8);
  w.bar.arrive_and_wait();
  auto half = [](u32 word, int k) {
    const u16 h = u16(word >> (16 * (k & 1)));
    return BF ? bf16_to_f32(h) : f16_to_f32(h);
  };
  auto A = [&](int r, int k) {
    return half(w.a[(r % 8) * 4 + (k % 8) / 2][(r / 8) + 2 * (k / 8)], k);
  };
  auto B = [&](int k, int n) { return half(w.b[n * 4 + (k % 8) / 2][k / 8], k); };
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int r = g + 8 * (i / 2), n = 2 * t + (i % 2);
    float s = d[i];
    for (int k = 0; k < 16; ++k)
      s += A(r, k) * B(k, n);
    d[i] = s;
  }
  w.bar.arrive_and_wait();
}

struct SumOp {};
struct MaxOp {};
struct MinOp {};
// The butterfly's result: the warp's 32 values combined (in double, lane
// order) and given to every lane.
template <class T, class Op> T warp_reduce(T v, Op) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  w.red[lane] = double(v);
  w.bar.arrive_and_wait();
  double s = w.red[0];
  for (int l = 1; l < 32; ++l) {
    if constexpr (std::is_same_v<Op, SumOp>)
      s += w.red[l];
    else if constexpr (std::is_same_v<Op, MaxOp>)
      s = std::max(s, w.red[l]);
    else
      s = std::min(s, w.red[l]);
  }
  w.bar.arrive_and_wait();
  return T(s);
}
// Named by templates the tests do not run; a run that reaches it fails.
template <class T, class Op> T block_reduce(T v, Op) {
  ADD_FAILURE() << "block_reduce is not emulated";
  return v;
}
// Warp exchanges of an int: every lane posts, then reads lane `from(lane)`.
template <class F> int warp_exchange(int v, F from) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  w.iv[lane] = v;
  w.bar.arrive_and_wait();
  const int r = w.iv[from(lane)];
  w.bar.arrive_and_wait();
  return r;
}
inline int __shfl_sync(u32, int v, int src) {
  return warp_exchange(v, [&](int) { return src & 31; });
}
inline int __shfl_up_sync(u32, int v, int d) {
  return warp_exchange(v, [&](int lane) { return lane >= d ? lane - d : lane; });
}
inline u32 __ballot_sync(u32, bool p) {
  const int lane = threadIdx.x & 31;
  Warp &w = gWarps[threadIdx.x >> 5];
  w.iv[lane] = p;
  w.bar.arrive_and_wait();
  u32 bits = 0;
  for (int i = 0; i < 32; ++i)
    bits |= u32(w.iv[i] != 0) << i;
  w.bar.arrive_and_wait();
  return bits;
}
inline u32 __match_any_sync(u32, int) {
  ADD_FAILURE() << "__match_any_sync is not emulated";
  return 0;
}
inline u32 atomicOr(u32 *p, u32 v) { return std::atomic_ref<u32>(*p).fetch_or(v); }
inline int atomicAdd(int *p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline int __popc(u32 v) { return __builtin_popcount(v); }
inline int __ffs(u32 v) { return __builtin_ffs(int(v)); }
inline int __dp4a(int a, int b, int c) { return a + b + c; } // not run by the tests
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __expf(float v) { return std::exp(v); }
inline float erff(float v) { return std::erf(v); }
inline float fmaxf(float a, float b) { return std::fmax(a, b); }
// PTX prmt (default mode): byte i of the result is byte s[4i+3:4i] of {y, x}.
inline u32 __byte_perm(u32 x, u32 y, u32 s) {
  const uint64_t v = uint64_t(y) << 32 | x;
  u32 r = 0;
  for (int i = 0; i < 4; ++i)
    r |= u32((v >> (8 * ((s >> (4 * i)) & 7))) & 0xFF) << (8 * i);
  return r;
}
using std::max;
using std::min;

/// Runs `kernel()` on every block of a gx x gy grid, `nthreads` threads each
/// (a multiple of 32), blocks one after another in row order.
template <class F> void launch(unsigned gx, unsigned gy, F kernel, unsigned nthreads = 256) {
  blockDim.x = nthreads;
  for (unsigned by = 0; by < gy; ++by)
    for (unsigned bx = 0; bx < gx; ++bx) {
      std::barrier<> block(nthreads);
      std::unique_ptr<Warp[]> warps(new Warp[nthreads / 32]);
      gBlock = &block;
      gWarps = warps.get();
      std::vector<std::thread> threads;
      for (unsigned t = 0; t < nthreads; ++t)
        threads.emplace_back([&, t] {
          threadIdx.x = t;
          blockIdx.x = bx;
          blockIdx.y = by;
          kernel();
        });
      for (std::thread &t : threads)
        t.join();
    }
}

} // namespace emu

// The device qualifiers as plain C++ (`__shared__` a static: one array per
// block run, the threads of a block share it); no primitives.cuh.
#define __device__
#define __host__
#define __forceinline__ inline
#define __constant__
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define EFFC_DEVICE_PRIMITIVES_CUH
