// eff.quant_linear kernels: the GEMV with 128-bit weight loads for up to 16
// rows when 16-byte chunks of codes lie in one scale block (gemv_vec), else
// the scalar GEMV for up to 8 rows, and the 32x32 tiled kernel above, for
// every scheme (int4/int8 with and without zero points, nf4, fp4,
// dynamic_int8, llm_int8 with its threshold) and a bf16 activation; the
// weight is read packed (u8) and decoded in registers. More than 16 rows of
// bf16/fp16 activations take the tensor-core GEMM (mma) when 16-code chunks
// lie in one scale block (tile BM x BN by the grid it gives); up to 16 rows
// of them the tensor-core GEMV: gemv_mma_bs (one scale block per mma) when
// the blocks hold its windows, else gemv_mma. All compile
// with NVRTC for sm_80, sm_90 and sm_90a.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// NVRTC: sm_80: 24 kernels compiled
// NVRTC: sm_90: 24 kernels compiled
// NVRTC: sm_90a: 24 kernels compiled

// CHECK: __constant__ float ql_nf4_book[16]
// CHECK: static constexpr int SCHEME = 0, LAYOUT = 0, BITS = 4;
// CHECK-NEXT: static constexpr int K = 40, N = 16, BLOCK = 32, BLOCKS = 2, BLOCK_BYTES = 16;
// CHECK-NEXT: static constexpr long long ROWS = 4;
// CHECK-NEXT: static constexpr bool HAS_ZP = false;
// CHECK: // y[4][16] = a W, W [40][16] int4, block 32 (gemv_vec)
// CHECK: quant_linear_gemv_vec<effc_ql_cfg_k0_quant_linear>(x1, (const u8 *)nullptr, loadA, loadScale, store);
// CHECK: // y[64][16] = a W, W [40][16] int4, block 32, zero points (tiled)
// CHECK: quant_linear_tiled<effc_ql_cfg_k1_quant_linear>(x1, x3, loadA, loadScale, store);
// CHECK: // y[4][16] = a W, W [40][16] int8, block 32 (gemv_vec)
// CHECK: // y[4][16] = a W, W [64][16] nf4, block 64 (gemv_vec)
// CHECK: // y[64][16] = a W, W [64][16] fp4, block 64 (tiled)
// CHECK: // y[4][16] = a W, W [40][16] dynamic_int8, block 40, zero points (gemv)
// CHECK: // y[64][16] = a W, W [40][16] dynamic_int8, block 40, zero points (tiled)
// CHECK: auto loadA = [&](long long i) -> float { return bf16_to_f32(x0[i]); };
// CHECK: static constexpr int SCHEME = 5, LAYOUT = 0, BITS = 8;
// CHECK: static constexpr float THRESHOLD = 3.0f;
// CHECK: // y[4][16] = a W, W [64][16] llm_int8, block 64, outliers |a| >= 3.0f (gemv_vec)
// CHECK: // y[4][16] = a W, W [40][16] llm_int8, block 40, outliers |a| >= 6.0f (gemv)
// CHECK: // y[64][16] = a W, W [64][16] llm_int8, block 64, outliers |a| >= 6.0f (tiled)
// 16 rows still stream the weight; 4-bit blocks of 16 codes do not fill a
// 32-code chunk (scalar GEMV).
// CHECK: // y[16][16] = a W, W [64][16] nf4, block 64 (gemv_vec)
// CHECK: // y[4][16] = a W, W [64][16] int4, block 16 (gemv)
// CHECK: // y[64][16] = a W, W [64][16] int4, block 32, zero points (mma)
// CHECK: quant_linear_mma<effc_ql_cfg_k12_quant_linear, 32, 64, true>(x1, x3, x0, loadScale, store);
// CHECK: // y[64][16] = a W, W [64][16] int8, block 64 (mma)
// CHECK: // y[64][16] = a W, W [64][16] nf4, block 64 (mma)
// CHECK: // y[80][16] = a W, W [64][16] int8, block 64 (mma)
// CHECK: quant_linear_mma<effc_ql_cfg_k15_quant_linear, 32, 64, false>(x1, (const u8 *)nullptr, x0, loadScale, store);
// 40-code blocks do not hold whole 16-code chunks: tiled.
// CHECK: // y[64][16] = a W, W [40][16] int8, block 40 (tiled)
// 16 bf16 rows are still a GEMV.
// CHECK: // y[16][16] = a W, W [64][16] fp4, block 64 (gemv_mma_bs)
// CHECK: quant_linear_gemv_mma_bs<effc_ql_cfg_k17_quant_linear, true>(x1, (const u8 *)nullptr, x0, loadScale, store);
// Double-quantized absmaxes (ui8 scales) decode through ql_dq_absmax<blocks>.
// CHECK: // y[4][16] = a W, W [64][16] nf4, block 64, double quantized (gemv_vec)
// CHECK: auto loadScale = [&](long long i) -> float { return ql_dq_absmax<16>(x2, i); };
// CHECK: // y[64][16] = a W, W [64][16] nf4, block 64, double quantized (mma)
// Decode rows of 16-bit activations: the tensor-core GEMV when K and the
// scale blocks are whole 16-byte chunks: gemv_mma_bs where a block holds 4
// lanes' pieces of at least 8 codes (per channel int8 in bf16, int4 block 32
// with zero points in fp16: 4-byte pieces), gemv_mma where it does not
// (int8 block 16), else gemv_vec (int4, K 40).
// CHECK: // y[1][16] = a W, W [64][16] int8, block 64 (gemv_mma_bs)
// CHECK: quant_linear_gemv_mma_bs<effc_ql_cfg_k20_quant_linear, true>(x1, (const u8 *)nullptr, x0, loadScale, store);
// CHECK: // y[4][16] = a W, W [64][16] int4, block 32, zero points (gemv_mma_bs)
// CHECK: quant_linear_gemv_mma_bs<effc_ql_cfg_k21_quant_linear, false>(x1, x3, x0, loadScale, store);
// CHECK: // y[4][16] = a W, W [40][16] int4, block 32 (gemv_vec)
// CHECK: // y[1][16] = a W, W [64][16] int8, block 16 (gemv_mma)
// CHECK: quant_linear_gemv_mma<effc_ql_cfg_k23_quant_linear, true>(x1, (const u8 *)nullptr, x0, loadScale, store);
func.func @main(%a4: tensor<4x40xf32>, %a64: tensor<64x40xf32>, %b4: tensor<4x64xf32>,
                %b64: tensor<64x64xf32>, %h64: tensor<64x40xbf16>, %b16: tensor<16x64xf32>,
                %hb: tensor<64x64xbf16>, %hf: tensor<2x40x64xf16>, %hb16: tensor<16x64xbf16>,
                %hb1: tensor<1x64xbf16>, %hf4: tensor<4x64xf16>, %h4: tensor<4x40xbf16>)
    -> (tensor<4x16xf32>, tensor<64x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>,
        tensor<64x16xf32>, tensor<4x16xf32>, tensor<64x16xbf16>, tensor<4x16xf32>,
        tensor<4x16xf32>, tensor<64x16xf32>, tensor<16x16xf32>, tensor<4x16xf32>,
        tensor<64x16xbf16>, tensor<64x16xbf16>, tensor<64x16xbf16>, tensor<2x40x16xf16>,
        tensor<64x16xbf16>, tensor<16x16xbf16>, tensor<4x16xf32>, tensor<64x16xbf16>,
        tensor<1x16xbf16>, tensor<4x16xf16>, tensor<4x16xbf16>, tensor<1x16xbf16>) {
  %w4 = eff.constant {value = dense<37> : tensor<16x2x16xui8>} : tensor<16x2x16xui8>
  %w8 = eff.constant {value = dense<131> : tensor<16x2x32xui8>} : tensor<16x2x32xui8>
  %s2 = eff.constant {value = dense<0.5> : tensor<16x2xf32>} : tensor<16x2xf32>
  %z2 = eff.constant {value = dense<7> : tensor<16x2xui8>} : tensor<16x2xui8>
  %wb = eff.constant {value = dense<83> : tensor<512xui8>} : tensor<512xui8>
  %sb = eff.constant {value = dense<1.5> : tensor<16xf32>} : tensor<16xf32>
  %wd = eff.constant {value = dense<140> : tensor<16x1x40xui8>} : tensor<16x1x40xui8>
  %sd = eff.constant {value = dense<0.01> : tensor<16x1xf32>} : tensor<16x1xf32>
  %zd = eff.constant {value = dense<128> : tensor<16x1xui8>} : tensor<16x1xui8>
  %0 = eff.quant_linear int4 n_kblocks(%a4, %w4, %s2) {K = 40 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<4x40xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>) -> tensor<4x16xf32>
  %1 = eff.quant_linear int4 n_kblocks(%a64, %w4, %s2, %z2) {K = 40 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<64x40xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>, tensor<16x2xui8>) -> tensor<64x16xf32>
  %2 = eff.quant_linear int8 n_kblocks(%a4, %w8, %s2) {K = 40 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<4x40xf32>, tensor<16x2x32xui8>, tensor<16x2xf32>) -> tensor<4x16xf32>
  %3 = eff.quant_linear nf4 bnb_flat(%b4, %wb, %sb) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<4x64xf32>, tensor<512xui8>, tensor<16xf32>) -> tensor<4x16xf32>
  %4 = eff.quant_linear fp4 bnb_flat(%b64, %wb, %sb) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<64x64xf32>, tensor<512xui8>, tensor<16xf32>) -> tensor<64x16xf32>
  %5 = eff.quant_linear dynamic_int8 n_kblocks(%a4, %wd, %sd, %zd) {K = 40 : i64, N = 16 : i64, block_size = 40 : i64} : (tensor<4x40xf32>, tensor<16x1x40xui8>, tensor<16x1xf32>, tensor<16x1xui8>) -> tensor<4x16xf32>
  %6 = eff.quant_linear dynamic_int8 n_kblocks(%h64, %wd, %sd, %zd) {K = 40 : i64, N = 16 : i64, block_size = 40 : i64} : (tensor<64x40xbf16>, tensor<16x1x40xui8>, tensor<16x1xf32>, tensor<16x1xui8>) -> tensor<64x16xbf16>
  %wl = eff.constant {value = dense<140> : tensor<16x1x64xui8>} : tensor<16x1x64xui8>
  %7 = eff.quant_linear llm_int8 n_kblocks(%b4, %wl, %sd) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64, threshold = 3.0 : f32} : (tensor<4x64xf32>, tensor<16x1x64xui8>, tensor<16x1xf32>) -> tensor<4x16xf32>
  %8 = eff.quant_linear llm_int8 n_kblocks(%a4, %wd, %sd) {K = 40 : i64, N = 16 : i64, block_size = 40 : i64} : (tensor<4x40xf32>, tensor<16x1x40xui8>, tensor<16x1xf32>) -> tensor<4x16xf32>
  %9 = eff.quant_linear llm_int8 n_kblocks(%b64, %wl, %sd) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<64x64xf32>, tensor<16x1x64xui8>, tensor<16x1xf32>) -> tensor<64x16xf32>
  %10 = eff.quant_linear nf4 bnb_flat(%b16, %wb, %sb) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<16x64xf32>, tensor<512xui8>, tensor<16xf32>) -> tensor<16x16xf32>
  %w16 = eff.constant {value = dense<37> : tensor<16x4x8xui8>} : tensor<16x4x8xui8>
  %s16 = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %11 = eff.quant_linear int4 n_kblocks(%b4, %w16, %s16) {K = 64 : i64, N = 16 : i64, block_size = 16 : i64} : (tensor<4x64xf32>, tensor<16x4x8xui8>, tensor<16x4xf32>) -> tensor<4x16xf32>
  %w4b = eff.constant {value = dense<37> : tensor<16x2x16xui8>} : tensor<16x2x16xui8>
  %w8c = eff.constant {value = dense<131> : tensor<16x1x64xui8>} : tensor<16x1x64xui8>
  %s8c = eff.constant {value = dense<0.01> : tensor<16x1xbf16>} : tensor<16x1xbf16>
  %12 = eff.quant_linear int4 n_kblocks(%hb, %w4b, %s2, %z2) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<64x64xbf16>, tensor<16x2x16xui8>, tensor<16x2xf32>, tensor<16x2xui8>) -> tensor<64x16xbf16>
  %13 = eff.quant_linear int8 n_kblocks(%hb, %w8c, %s8c) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<64x64xbf16>, tensor<16x1x64xui8>, tensor<16x1xbf16>) -> tensor<64x16xbf16>
  %14 = eff.quant_linear nf4 bnb_flat(%hb, %wb, %sb) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<64x64xbf16>, tensor<512xui8>, tensor<16xf32>) -> tensor<64x16xbf16>
  %15 = eff.quant_linear int8 n_kblocks(%hf, %w8c, %s8c) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x40x64xf16>, tensor<16x1x64xui8>, tensor<16x1xbf16>) -> tensor<2x40x16xf16>
  %16 = eff.quant_linear int8 n_kblocks(%h64, %wd, %sd) {K = 40 : i64, N = 16 : i64, block_size = 40 : i64} : (tensor<64x40xbf16>, tensor<16x1x40xui8>, tensor<16x1xf32>) -> tensor<64x16xbf16>
  %17 = eff.quant_linear fp4 bnb_flat(%hb16, %wb, %sb) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<16x64xbf16>, tensor<512xui8>, tensor<16xf32>) -> tensor<16x16xbf16>
  %sq = eff.constant {value = dense<[0, 9, 40, 128, 200, 255, 3, 7, 77, 100, 120, 140, 160, 180, 222, 17, 0, 0, 128, 63, 0, 0, 0, 0]> : tensor<24xui8>} : tensor<24xui8>
  %18 = eff.quant_linear nf4 bnb_flat(%b4, %wb, %sq) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64, double_quant} : (tensor<4x64xf32>, tensor<512xui8>, tensor<24xui8>) -> tensor<4x16xf32>
  %19 = eff.quant_linear nf4 bnb_flat(%hb, %wb, %sq) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64, double_quant} : (tensor<64x64xbf16>, tensor<512xui8>, tensor<24xui8>) -> tensor<64x16xbf16>
  %20 = eff.quant_linear int8 n_kblocks(%hb1, %w8c, %s8c) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<1x64xbf16>, tensor<16x1x64xui8>, tensor<16x1xbf16>) -> tensor<1x16xbf16>
  %21 = eff.quant_linear int4 n_kblocks(%hf4, %w4b, %s2, %z2) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<4x64xf16>, tensor<16x2x16xui8>, tensor<16x2xf32>, tensor<16x2xui8>) -> tensor<4x16xf16>
  %22 = eff.quant_linear int4 n_kblocks(%h4, %w4, %s2) {K = 40 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<4x40xbf16>, tensor<16x2x16xui8>, tensor<16x2xf32>) -> tensor<4x16xbf16>
  %w8d = eff.constant {value = dense<131> : tensor<16x4x16xui8>} : tensor<16x4x16xui8>
  %23 = eff.quant_linear int8 n_kblocks(%hb1, %w8d, %s16) {K = 64 : i64, N = 16 : i64, block_size = 16 : i64} : (tensor<1x64xbf16>, tensor<16x4x16xui8>, tensor<16x4xf32>) -> tensor<1x16xbf16>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23 : tensor<4x16xf32>, tensor<64x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<64x16xf32>, tensor<4x16xf32>, tensor<64x16xbf16>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<64x16xf32>, tensor<16x16xf32>, tensor<4x16xf32>, tensor<64x16xbf16>, tensor<64x16xbf16>, tensor<64x16xbf16>, tensor<2x40x16xf16>, tensor<64x16xbf16>, tensor<16x16xbf16>, tensor<4x16xf32>, tensor<64x16xbf16>, tensor<1x16xbf16>, tensor<4x16xf16>, tensor<4x16xbf16>, tensor<1x16xbf16>
}
