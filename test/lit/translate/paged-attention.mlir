// eff.paged_attention's CUDA kernel and eff.paged_attention_partial's
// (compiler/codegen/PagedAttentionEmitter.cpp,
// device/paged_attention.cuh): the sizes baked into its config, the dtype
// glue (bf16 and f16 storage, int32 or int64 block table and lengths), one
// block of 4 warps per query row; every kernel compiles with NVRTC for
// sm_80, sm_90 and sm_90a; a sliding window (WINDOW) in both forms. The
// host numerics: driver/paged-attention.test.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST
// NVRTC: sm_80: 6 kernels compiled
// NVRTC: sm_90: 6 kernels compiled
// NVRTC: sm_90a: 6 kernels compiled

// CHECK: #ifndef EFFC_DEVICE_PAGED_ATTENTION_CUH
// CHECK: static constexpr int B = 2, HQ = 8, S = 1, D = 128, NP = 32, HKV = 2, PS = 16, MB = 8, GROUP = 4;
// CHECK-NEXT: i64 batch(const long long *effc_dims) { return 2; }
// CHECK-NEXT: i64 seq(const long long *effc_dims) { return 1; }
// CHECK-NEXT: static constexpr bool CAUSAL = true;
// CHECK-NEXT: static constexpr i64 WINDOW = 0;
// CHECK: bf16_to_f32
// CHECK: i64 page(const void *p, i64 i) { return (i64)((const i32*)p)[i]; }
// CHECK: i64 len(const void *p, i64 i) { return (i64)((const i64*)p)[i]; }
// CHECK: // 2x8x1 query rows over pages of 16 positions (32 in the pool, 8 per row), head dim 128, GQA group 4
// CHECK-NEXT: effc_paged::paged_attention_row<effc_paged_cfg_{{.*}}, 4>(in0, in1, in2, in3, in4, out0, nullptr);
// CHECK: static constexpr int B = 1, HQ = 4, S = 5, D = 64, NP = 6, HKV = 4, PS = 8, MB = 3, GROUP = 1;
// CHECK: static constexpr bool CAUSAL = false;
// CHECK: f16_to_f32
// CHECK: static constexpr int B = 2, HQ = 2, S = 3, D = 32, NP = 4, HKV = 1, PS = 2, MB = 4, GROUP = 2;
// A sliding window (keys p - 2..p) is a constant of the config.
// CHECK: static constexpr i64 WINDOW = 3;
// CHECK: static constexpr i64 WINDOW = 40;
// The split-KV pair (with a window of 40 positions): the bf16 decode in 3 splits of ceil(8 / 3) = 3 pages
// (48 positions), one block per (query row, split).
// CHECK: // 3 splits of 48 positions
// CHECK-NEXT: effc_paged::paged_attention_split_row<effc_paged_cfg_{{.*}}, 4, 3, 48>(in0, in1, in2, in3, in4, (float *)out0, (float *)out1, nullptr);
// A head dim below a warp (llama-withpast's 16): lanes 16..31 idle.
// CHECK: static constexpr int B = 2, HQ = 4, S = 8, D = 16, NP = 128, HKV = 2, PS = 4, MB = 72, GROUP = 2;
// MANIFEST: op: "eff.paged_attention"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 16
// MANIFEST: block: 128
// MANIFEST: op: "eff.paged_attention_partial"
// MANIFEST: launch {
// MANIFEST-NEXT: grid: 16
// MANIFEST-NEXT: grid: 3
func.func @main(%q: tensor<2x8x1x128xbf16>, %k: tensor<32x2x16x128xbf16>, %v: tensor<32x2x16x128xbf16>,
                %t: tensor<2x8xi32>, %l: tensor<2xi64>,
                %q2: tensor<1x4x5x64xf16>, %k2: tensor<6x4x8x64xf16>, %t2: tensor<1x3xi64>, %l2: tensor<1xi32>,
                %q3: tensor<2x2x3x32xf32>, %k3: tensor<4x1x2x32xf32>, %t3: tensor<2x4xi32>, %l3: tensor<2xi32>,
                %q5: tensor<2x4x8x16xf32>, %k5: tensor<128x2x4x16xf32>, %t5: tensor<2x72xi32>, %l5: tensor<2xi32>)
    -> (tensor<2x8x1x128xbf16>, tensor<1x4x5x64xf16>, tensor<2x2x3x32xf32>, tensor<2x8x1x128xbf16>, tensor<2x4x8x16xf32>) {
  %y = eff.paged_attention %q, %k, %v, %t, %l {scale = 0.08838835 : f32} : (tensor<2x8x1x128xbf16>, tensor<32x2x16x128xbf16>, tensor<32x2x16x128xbf16>, tensor<2x8xi32>, tensor<2xi64>) -> tensor<2x8x1x128xbf16>
  %y2 = eff.paged_attention %q2, %k2, %k2, %t2, %l2 {scale = 0.125 : f32, causal = 0 : i64} : (tensor<1x4x5x64xf16>, tensor<6x4x8x64xf16>, tensor<6x4x8x64xf16>, tensor<1x3xi64>, tensor<1xi32>) -> tensor<1x4x5x64xf16>
  %y3 = eff.paged_attention %q3, %k3, %k3, %t3, %l3 {scale = 0.5 : f32, window = 3 : i64} : (tensor<2x2x3x32xf32>, tensor<4x1x2x32xf32>, tensor<4x1x2x32xf32>, tensor<2x4xi32>, tensor<2xi32>) -> tensor<2x2x3x32xf32>
  %o, %lse = eff.paged_attention_partial %q, %k, %v, %t, %l {scale = 0.08838835 : f32, num_splits = 3 : i64, window = 40 : i64} : (tensor<2x8x1x128xbf16>, tensor<32x2x16x128xbf16>, tensor<32x2x16x128xbf16>, tensor<2x8xi32>, tensor<2xi64>) -> (tensor<3x2x8x1x128xf32>, tensor<3x2x8x1xf32>)
  %y4 = eff.attention_combine %o, %lse {to = 16 : i64} : (tensor<3x2x8x1x128xf32>, tensor<3x2x8x1xf32>) -> tensor<2x8x1x128xbf16>
  %y5 = eff.paged_attention %q5, %k5, %k5, %t5, %l5 {scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<128x2x4x16xf32>, tensor<128x2x4x16xf32>, tensor<2x72xi32>, tensor<2xi32>) -> tensor<2x4x8x16xf32>
  return %y, %y2, %y3, %y4, %y5 : tensor<2x8x1x128xbf16>, tensor<1x4x5x64xf16>, tensor<2x2x3x32xf32>, tensor<2x8x1x128xbf16>, tensor<2x4x8x16xf32>
}
