// Planning without emission: effc-translate --eff-to-plan prints, per kernel,
// the choice its family made before any CUDA text exists (family, variant,
// tile parameters, launch geometry). The manifest launches the same geometry
// and the CUDA is instantiated from these choices.
// RUN: effc-translate --eff-to-plan %s | FileCheck %s
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// Elementwise: one thread per element, or per 4 elements when the innermost
// dim allows 16-byte accesses (vectorWidth).
// CHECK: k0_add Elementwise grid-stride items=15 vec=1 grid=(1,1,1) block=(256,1,1) smem=0
// CHECK-NEXT: k1_mul Elementwise vectorized items=1024 vec=4 grid=(4,1,1) block=(256,1,1) smem=0
// Row kernels: a warp per row of <= 1K elements, a block per longer row.
// CHECK-NEXT: k2_layer_norm Norm warp-per-row rows=6 length=64 grid=(1,1,1) block=(256,1,1) smem=0
// CHECK-NEXT: k3_softmax Reduction block-per-row rows=2 length=3000 grid=(2,1,1) block=(256,1,1) smem=0
// CHECK-NEXT: k4_reduce_sum Reduction warp-per-row rows=6 length=64 grid=(1,1,1) block=(256,1,1) smem=0
// GEMM: fp32 stays on the FFMA kernel, bf16 gets the tensor-core kernel with
// chooseTile's tile (M tiles x N tiles on x, batch on z).
// CHECK-NEXT: k5_matmul Matmul ffma M=64 N=32 K=16 grid=(1,1,1) block=(256,1,1) smem=0
// CHECK-NEXT: k6_matmul Matmul mma M=64 N=32 K=16 bm={{[0-9]+}} bn={{[0-9]+}} bk={{[0-9]+}} warps_m={{[0-9]+}} warps_n={{[0-9]+}} stages={{[0-9]+}} grid=({{[0-9]+}},1,1) block=({{[0-9]+}},1,1) smem={{[1-9][0-9]*}}
// Attention: fp32 keeps the warp-per-query-row kernel, bf16 gets
// FlashAttention-2 (query tiles x heads x batch); a decode-shaped split pair
// gets the split-KV partial (splits x kv-head row blocks x batch) and combine.
// CHECK-NEXT: k7_attention Attention warp-per-query-row rows=6 key_tile=32 grid=(1,4,1) block=(192,1,1) smem=0
// CHECK-NEXT: k8_attention Attention flash-attention-2 block_m={{[0-9]+}} block_n={{[0-9]+}} warps={{[0-9]+}} stages={{[0-9]+}} grid=(1,4,1) block=({{[0-9]+}},1,1) smem={{[1-9][0-9]*}}
// CHECK-NEXT: k9_attention_partial AttentionPartial flash-decode-partial splits=4 grid=(4,{{[0-9]+}},2) block=({{[0-9]+}},1,1) smem={{[1-9][0-9]*}}
// CHECK-NEXT: k10_attention_combine AttentionCombine flash-decode-combine splits=4 grid=(4,1,1) block=(128,1,1) smem=0
// Data movement: one thread per output element.
// CHECK-NEXT: k11_transpose DataMovement grid-stride items=384 grid=(2,1,1) block=(256,1,1) smem=0
// Quantized linears: a warp per output column for <= 16 rows (8 columns per
// block; 128-bit weight loads here), 32x32 output tiles above.
// CHECK-NEXT: k12_quant_linear QuantLinear gemv_vec rows=2 grid=(2,1,1) block=(256,1,1) smem=0
// CHECK-NEXT: k13_quant_linear QuantLinear tiled rows=64 grid=(1,2,1) block=(256,1,1) smem=0
// CHECK-EMPTY:

// MANIFEST-LABEL: op: "eff.mul"
// MANIFEST: source: "k1_mul"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 4
// MANIFEST-LABEL: op: "eff.softmax"
// MANIFEST: source: "k3_softmax"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 2
// MANIFEST-LABEL: op: "eff.attention_combine"
// MANIFEST: source: "k10_attention_combine"
// MANIFEST-NEXT: launch {
// MANIFEST-NEXT: grid: 4
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: grid: 1
// MANIFEST-NEXT: block: 128

func.func @main(%a: tensor<3x5xf32> {eff.name = "a"}, %b: tensor<5xf32> {eff.name = "b"},
                %c: tensor<4x1024xf32> {eff.name = "c"},
                %x: tensor<2x3x64xf32> {eff.name = "x"}, %scale: tensor<64xf32> {eff.name = "scale"},
                %bias: tensor<64xf32> {eff.name = "bias"}, %z: tensor<2x3000xf32> {eff.name = "z"},
                %m: tensor<64x16xf32> {eff.name = "m"}, %n: tensor<16x32xf32> {eff.name = "n"},
                %mh: tensor<64x16xbf16> {eff.name = "mh"}, %nh: tensor<16x32xbf16> {eff.name = "nh"},
                %q: tensor<1x4x6x16xf32> {eff.name = "q"}, %k: tensor<1x2x6x16xf32> {eff.name = "k"},
                %v: tensor<1x2x6x16xf32> {eff.name = "v"},
                %qh: tensor<1x4x64x64xbf16> {eff.name = "qh"}, %kh: tensor<1x2x64x64xbf16> {eff.name = "kh"},
                %vh: tensor<1x2x64x64xbf16> {eff.name = "vh"},
                %qd: tensor<2x8x1x64xbf16> {eff.name = "qd"}, %kd: tensor<2x2x1000x64xbf16> {eff.name = "kd"},
                %vd: tensor<2x2x1000x64xbf16> {eff.name = "vd"},
                %qa: tensor<2x64xf32> {eff.name = "qa"}, %qb: tensor<64x64xf32> {eff.name = "qb"})
    -> (tensor<3x5xf32>, tensor<4x1024xf32>, tensor<2x3x64xf32>, tensor<2x3000xf32>, tensor<2x3xf32>,
        tensor<64x32xf32>, tensor<64x32xbf16>, tensor<1x4x6x16xf32>, tensor<1x4x64x64xbf16>,
        tensor<2x8x1x64xbf16>, tensor<2x64x3xf32>, tensor<2x16xf32>, tensor<64x16xf32>) {
  %0 = eff.add %a, %b : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %1 = eff.mul %c, %c : (tensor<4x1024xf32>, tensor<4x1024xf32>) -> tensor<4x1024xf32>
  %2 = eff.layer_norm %x, %scale, %bias {epsilon = 1.000000e-03 : f32} : (tensor<2x3x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x3x64xf32>
  %3 = eff.softmax %z : (tensor<2x3000xf32>) -> tensor<2x3000xf32>
  %axes = eff.constant {value = dense<[-1]> : tensor<1xi64>} : tensor<1xi64>
  %4 = eff.reduce_sum %x, %axes {keepdims = 0 : i64} : (tensor<2x3x64xf32>, tensor<1xi64>) -> tensor<2x3xf32>
  %5 = eff.matmul %m, %n : (tensor<64x16xf32>, tensor<16x32xf32>) -> tensor<64x32xf32>
  %6 = eff.matmul %mh, %nh : (tensor<64x16xbf16>, tensor<16x32xbf16>) -> tensor<64x32xbf16>
  %7 = eff.attention %q, %k, %v {causal, num_kv_heads = 2 : i64, scale = 2.500000e-01 : f32} : (tensor<1x4x6x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>) -> tensor<1x4x6x16xf32>
  %8 = eff.attention %qh, %kh, %vh {causal, num_kv_heads = 2 : i64, scale = 1.250000e-01 : f32} : (tensor<1x4x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>) -> tensor<1x4x64x64xbf16>
  %p:2 = eff.attention_partial %qd, %kd, %vd {num_kv_heads = 2 : i64, num_splits = 4 : i64, scale = 0.125 : f32} : (tensor<2x8x1x64xbf16>, tensor<2x2x1000x64xbf16>, tensor<2x2x1000x64xbf16>) -> (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>)
  %9 = eff.attention_combine %p#0, %p#1 {to = 16 : i64} : (tensor<4x2x8x1x64xf32>, tensor<4x2x8x1xf32>) -> tensor<2x8x1x64xbf16>
  %10 = eff.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x64xf32>) -> tensor<2x64x3xf32>
  %qw = eff.constant {value = dense<37> : tensor<16x2x16xui8>} : tensor<16x2x16xui8>
  %qs = eff.constant {value = dense<0.5> : tensor<16x2xf32>} : tensor<16x2xf32>
  %11 = eff.quant_linear int4 n_kblocks(%qa, %qw, %qs) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x64xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>) -> tensor<2x16xf32>
  %12 = eff.quant_linear int4 n_kblocks(%qb, %qw, %qs) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<64x64xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>) -> tensor<64x16xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12 : tensor<3x5xf32>, tensor<4x1024xf32>, tensor<2x3x64xf32>, tensor<2x3000xf32>, tensor<2x3xf32>, tensor<64x32xf32>, tensor<64x32xbf16>, tensor<1x4x6x16xf32>, tensor<1x4x64x64xbf16>, tensor<2x8x1x64xbf16>, tensor<2x64x3xf32>, tensor<2x16xf32>, tensor<64x16xf32>
}
