// eff.paged_kv_write's CUDA kernel (compiler/codegen/PagedKvWriteEmitter.cpp,
// device/paged_kv_write.cuh): the pool's and the new rows' sizes baked into
// its config, the element storage type and the int32/int64 slot_mapping
// read (16-bit types moved as u16); one grid-stride loop over the larger of
// the pool and the new rows (32x2x16x128 = 131072 elements: 512 blocks);
// every kernel compiles with NVRTC for sm_80, sm_90 and sm_90a. Host
// numerics: test/unit/runtime/KvCacheKernelTest.cpp (PagedKvWrite*) and the
// e2e-engine-paged-paged-kv-* tests.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST
// NVRTC: sm_80: 3 kernels compiled
// NVRTC: sm_90: 3 kernels compiled
// NVRTC: sm_90a: 3 kernels compiled

// CHECK: #ifndef EFFC_DEVICE_PAGED_KV_WRITE_CUH
// CHECK: static constexpr int NP = 32, H = 2, PS = 16, D = 128, B = 2, S = 1;
// CHECK-NEXT: i64 batch(const long long *effc_dims) { return 2; }
// CHECK-NEXT: i64 seq(const long long *effc_dims) { return 1; }
// CHECK-NEXT: typedef u16 T;
// CHECK-NEXT: i64 slot(const void *p, i64 i) { return (i64)((const i32*)p)[i]; }
// CHECK: // 2x1 new rows of 2 heads x 128 into a pool of 32 pages of 16 positions
// CHECK-NEXT: effc_paged::paged_kv_write<effc_paged_write_cfg_{{.*}}>(in0, in1, in2, out0, nullptr);
// CHECK: static constexpr int NP = 6, H = 4, PS = 8, D = 64, B = 1, S = 5;
// CHECK: typedef u16 T;
// CHECK-NEXT: i64 slot(const void *p, i64 i) { return (i64)((const i64*)p)[i]; }
// CHECK: static constexpr int NP = 4, H = 1, PS = 2, D = 16, B = 2, S = 3;
// CHECK: typedef float T;
// MANIFEST: op: "eff.paged_kv_write"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 512
// MANIFEST: block: 256
func.func @main(%k: tensor<32x2x16x128xbf16>, %r: tensor<2x2x1x128xbf16>, %m: tensor<2x1xi32>,
                %k2: tensor<6x4x8x64xf16>, %r2: tensor<1x4x5x64xf16>, %m2: tensor<1x5xi64>,
                %k3: tensor<4x1x2x16xf32>, %r3: tensor<2x1x3x16xf32>, %m3: tensor<2x3xi32>)
    -> (tensor<32x2x16x128xbf16>, tensor<6x4x8x64xf16>, tensor<4x1x2x16xf32>) {
  %y = eff.paged_kv_write %k, %r, %m : (tensor<32x2x16x128xbf16>, tensor<2x2x1x128xbf16>, tensor<2x1xi32>) -> tensor<32x2x16x128xbf16>
  %y2 = eff.paged_kv_write %k2, %r2, %m2 : (tensor<6x4x8x64xf16>, tensor<1x4x5x64xf16>, tensor<1x5xi64>) -> tensor<6x4x8x64xf16>
  %y3 = eff.paged_kv_write %k3, %r3, %m3 : (tensor<4x1x2x16xf32>, tensor<2x1x3x16xf32>, tensor<2x3xi32>) -> tensor<4x1x2x16xf32>
  return %y, %y2, %y3 : tensor<32x2x16x128xbf16>, tensor<6x4x8x64xf16>, tensor<4x1x2x16xf32>
}
