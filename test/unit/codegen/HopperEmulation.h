// The sm_90 asynchronous machinery of compiler/codegen/device/hopper.cuh as
// host C++ for the emulation tests (CudaEmulation.h: a std::thread per CUDA
// thread of a block), from the PTX ISA: mbarriers (arrival count +
// transaction bytes, phase parity waits), cp.async.bulk.tensor.3d (a box of
// the tensor map, out-of-bounds elements zero, written with the 128-byte
// swizzle: 16-byte chunk c of box row r at chunk c ^ (r % 8), complete_tx
// of the whole box on the mbarrier), and wgmma.mma_async m64nNk16 reading
// both operand layouts from their descriptors (K-major: element (r, k) at
// start + (r / 8) SBO + (r % 8) 128 + 2 k; MN-major: element (mn, k) at
// start + (mn / 64) LBO + (k / 8) SBO + (k % 8) 128 + 2 (mn % 64); then
// address bits [4:6] ^= [7:9]). Used by WgmmaTmaEmuTest (wgmma_tma_gemm)
// and MoEEmuTest (moe_grouped_wgmma, moe_grouped_wgmma_tma).
//
// Include at namespace scope after hopper.cuh and after the test declares
// `emu::emu_ptr(u32)` (a shared-memory address to its bytes); the hop_*
// names are then #defined to these functions for the kernels included next.
// The test's tensor maps are EmuMap values stored in the HopTensorMap bytes.
#ifndef EFFC_TEST_HOPPER_EMULATION_H
#define EFFC_TEST_HOPPER_EMULATION_H

#include "CudaEmulation.h"
#include "compiler/codegen/core/KernelDesc.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>

namespace emu {

// ---- mbarrier ----------------------------------------------------------------
struct Bar {
  unsigned count = 0, pending = 0, phase = 0;
  long long tx = 0;
};
inline std::mutex gBarMutex;
inline std::condition_variable gBarCv;
inline std::map<u32, Bar> gBars;
inline void barStep(Bar &b) { // under gBarMutex
  if (b.pending == 0 && b.tx == 0) {
    ++b.phase;
    b.pending = b.count;
    gBarCv.notify_all();
  }
}
inline void emu_mbar_init(u32 a, u32 count) {
  std::lock_guard<std::mutex> lock(gBarMutex);
  gBars[a] = Bar{count, count, 0, 0};
}
inline void emu_mbar_arrive(u32 a) {
  std::lock_guard<std::mutex> lock(gBarMutex);
  Bar &b = gBars.at(a);
  EXPECT_GT(b.pending, 0u) << "arrival on a completed phase";
  --b.pending;
  barStep(b);
}
inline void emu_mbar_arrive_expect_tx(u32 a, u32 bytes) {
  std::lock_guard<std::mutex> lock(gBarMutex);
  Bar &b = gBars.at(a);
  b.tx += bytes;
  --b.pending;
  barStep(b);
}
inline void emu_complete_tx(u32 a, u32 bytes) {
  std::lock_guard<std::mutex> lock(gBarMutex);
  Bar &b = gBars.at(a);
  b.tx -= bytes;
  EXPECT_GE(b.tx, 0) << "more bytes delivered than expected";
  barStep(b);
}
// try_wait.parity: done once the phase of that parity has completed, i.e.
// the current phase's parity differs.
inline void emu_mbar_wait(u32 a, u32 parity) {
  std::unique_lock<std::mutex> lock(gBarMutex);
  gBarCv.wait(lock, [&] { return (gBars.at(a).phase & 1u) != parity; });
}

// ---- TMA -----------------------------------------------------------------
// What the test "encodes" into the 128-byte HopTensorMap (wgmma::tmaMaps).
struct EmuMap {
  const unsigned char *base;
  unsigned long long dims[3], strides[2];
  unsigned box[3];
};
/// The tensor map a plan describes (3-D, 16-bit elements), "encoded" over
/// `base` for emu_tma_load_3d.
inline HopTensorMap emu_encode(const effc::codegen::TensorMapDesc &d, const void *base) {
  static_assert(sizeof(EmuMap) <= sizeof(HopTensorMap));
  EXPECT_EQ(d.dims.size(), 3u);
  EmuMap m{};
  m.base = static_cast<const unsigned char *>(base);
  for (size_t i = 0; i < 3 && i < d.dims.size(); ++i) {
    m.dims[i] = d.dims[i];
    m.box[i] = d.box[i];
  }
  m.strides[0] = d.strides.at(0);
  m.strides[1] = d.strides.at(1);
  HopTensorMap t{};
  std::memcpy(&t, &m, sizeof m);
  return t;
}
inline void emu_tma_load_3d(u32 dst, const void *tmap, u32 bar, int c0, int c1, int c2) {
  const EmuMap &m = *static_cast<const EmuMap *>(tmap);
  EXPECT_EQ(dst % 1024, 0u) << "128B-swizzled TMA destination not 1024-byte aligned";
  EXPECT_EQ(m.box[0], 64u);
  unsigned char *d = emu_ptr(dst);
  for (unsigned r = 0; r < m.box[1]; ++r)
    for (unsigned e = 0; e < m.box[0]; ++e) {
      const long long x = c0 + e, y = c1 + r, z = c2;
      u16 v = 0;
      if (x >= 0 && y >= 0 && z >= 0 && (unsigned long long)x < m.dims[0] &&
          (unsigned long long)y < m.dims[1] && (unsigned long long)z < m.dims[2])
        std::memcpy(&v, m.base + z * m.strides[1] + y * m.strides[0] + x * 2, 2);
      const unsigned chunk = (e * 2) / 16, within = (e * 2) % 16;
      std::memcpy(d + r * 128 + ((chunk ^ (r % 8)) * 16) + within, &v, 2);
    }
  emu_complete_tx(bar, m.box[0] * m.box[1] * m.box[2] * 2);
}

// ---- wgmma -------------------------------------------------------------------
template <int N, bool BF, bool TA, bool TB>
void emu_wgmma_m64k16(float *d, u64 descA, u64 descB, int scaleD) {
  EXPECT_EQ(descA >> 62, 1u) << "128B swizzle";
  EXPECT_EQ(descB >> 62, 1u) << "128B swizzle";
  // Element (mn, k) of the operand a descriptor describes.
  auto at = [](u64 desc, bool mnMajor, int mn, int k) {
    const u32 start = u32(desc & 0x3FFFu) << 4, lbo = u32((desc >> 16) & 0x3FFFu) << 4,
              sbo = u32((desc >> 32) & 0x3FFFu) << 4;
    u32 off = mnMajor ? start + u32(mn / 64) * lbo + u32(k / 8) * sbo + u32(k % 8) * 128u +
                            2u * u32(mn % 64)
                      : start + u32(mn / 8) * sbo + u32(mn % 8) * 128u + 2u * u32(k);
    off ^= ((off >> 7) & 7u) << 4;
    u16 h;
    std::memcpy(&h, emu_ptr(off), 2);
    return BF ? bf16_to_f32(h) : f16_to_f32(h);
  };
  const int w = (threadIdx.x >> 5) & 3, l = threadIdx.x & 31;
  for (int i = 0; i < N / 2; ++i) {
    const int row = 16 * w + l / 4 + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
    float s = scaleD ? d[i] : 0.0f;
    for (int k = 0; k < 16; ++k)
      s += at(descA, TA, row, k) * at(descB, TB, col, k);
    d[i] = s;
  }
}
// wgmma.wait_group is .sync.aligned: the warp's lanes meet there (the
// emulated lanes run freely otherwise; a lane 0 releasing a stage before its
// warp's other lanes waited for it would let the barrier run a phase ahead).
template <int N> void emu_wait() { gWarps[threadIdx.x >> 5].bar.arrive_and_wait(); }
template <int N> void emu_setmaxnreg() {}

} // namespace emu

#define hop_mbar_init emu_mbar_init
#define hop_mbar_init_fence() ((void)0)
#define hop_mbar_arrive emu_mbar_arrive
#define hop_mbar_arrive_expect_tx emu_mbar_arrive_expect_tx
#define hop_mbar_wait emu_mbar_wait
#define hop_tma_load_3d emu_tma_load_3d
#define hop_tma_prefetch_desc(p) ((void)(p))
#define hop_setmaxnreg_inc emu_setmaxnreg
#define hop_setmaxnreg_dec emu_setmaxnreg
#define hop_wgmma_m64k16 emu_wgmma_m64k16
#define hop_wgmma_fence() ((void)0)
#define hop_wgmma_commit() ((void)0)
#define hop_wgmma_wait emu_wait
#define hop_fence_operand(r) ((void)(r))
#define hop_fence_proxy_async_smem() ((void)0)

#endif // EFFC_TEST_HOPPER_EMULATION_H
