// The MoE expert GEMMs' kernel on sm_90a is one choice (moe::wantsWgmma):
// --gemm=wgmma asks for the wgmma grouped GEMM (device/moe_wgmma.cuh,
// 128x256x64 tiles in 4 stages: 193 KiB + 1 KiB alignment) where it fits;
// --gemm=auto follows kMoEWgmmaByDefault (wgmma since the H200 timings of
// test/gpu/moe_variants.sh) and --gemm=mma never takes it. 32 tokens, top-2 of 4 experts:
// gate/up N 128 (gated: N % 128), down N 256 (N % 256), KD % 64; at most
// ceil(64/128) + 4 - 1 = 4 row tiles. The decode layer (2 tokens) keeps the
// GEMV kernels; the translation unit carries moe_wgmma.cuh and builds for
// sm_90a with NVRTC.
// RUN: effc-opt %s -eff-lower-moe -canonicalize > %t.mlir
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=wgmma %t.mlir | FileCheck %s --check-prefix=WGMMA
// RUN: effc-translate --eff-to-plan --arch=sm_90a %t.mlir | FileCheck %s --check-prefix=WGMMA
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=mma %t.mlir | FileCheck %s --check-prefix=MMA
// RUN: effc-translate --eff-to-cuda --arch=sm_90a --gemm=wgmma %t.mlir | FileCheck %s --check-prefix=CUDA
// RUN: effc %s --arch=sm_90a --gemm=wgmma -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC
// --gemm=tma asks for the TMA variant (device/moe_wgmma_tma.cuh: 384 threads,
// 4 stages of 128x256x64: 192 KiB + 2 KiB of barriers and rows; A's and the
// weights' tensor maps after the pointers); auto keeps the cp.async kernel.
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=tma %t.mlir | FileCheck %s --check-prefix=TMA
// RUN: effc-translate --eff-to-cuda --arch=sm_90a --gemm=tma %t.mlir | FileCheck %s --check-prefix=TMACUDA
// RUN: effc %s --arch=sm_90a --gemm=tma -o %t-tma.effc
// RUN: effc-nvrtc-check %t-tma.effc --arch=sm_90a | FileCheck %s --check-prefix=NVRTC

// WGMMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-wgmma grid=(4,1,1) block=(256,1,1) smem=197632
// WGMMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-wgmma grid=(4,1,1) block=(256,1,1) smem=197632
// WGMMA-NOT: grouped-mma
// WGMMA: k{{[0-9]+}}_moe_expert_gemm MoE gemv
// WGMMA: k{{[0-9]+}}_moe_expert_gemm MoE gemv

// MMA-NOT: grouped-wgmma
// MMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-mma
// MMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-mma
// MMA-NOT: grouped-wgmma

// CUDA: #define MOE_WGMMA_SMEM
// CUDA: // gate/up of 4 experts: [64, 128] over 256 (wgmma)
// CUDA: moe_grouped_wgmma<k{{[0-9]+}}_moe_expert_gemm_cfg>(in0, in1, (const int*)in2, out0);
// CUDA: // down of 4 experts: [64, 256] over 128 (wgmma)
// CUDA: moe_grouped_wgmma<k{{[0-9]+}}_moe_expert_gemm_cfg>(in0, in1, (const int*)in2, out0);

// NVRTC: sm_90a: {{[0-9]+}} kernels compiled

// TMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-wgmma-tma grid=(4,1,1) block=(384,1,1) smem=198656 tensor_maps=2
// TMA: k{{[0-9]+}}_moe_expert_gemm MoE grouped-wgmma-tma grid=(4,1,1) block=(384,1,1) smem=198656 tensor_maps=2
// TMA: k{{[0-9]+}}_moe_expert_gemm MoE gemv

// TMACUDA: // gate/up of 4 experts: [64, 128] over 256 (wgmma, TMA)
// TMACUDA: moe_grouped_wgmma_tma<k{{[0-9]+}}_moe_expert_gemm_cfg>(in0, (const int*)in2, out0, &tmA, &tmW);
// TMACUDA: // down of 4 experts: [64, 256] over 128 (wgmma, TMA)

func.func @main(%x: tensor<32x256xbf16>, %x2: tensor<2x256xbf16>) -> (tensor<32x256xbf16>, tensor<2x256xbf16>) {
  %r = eff.constant {value = dense<0.125> : tensor<4x256xbf16>} : tensor<4x256xbf16>
  %gu = eff.constant {value = dense<0.5> : tensor<4x256x256xbf16>} : tensor<4x256x256xbf16>
  %d = eff.constant {value = dense<0.25> : tensor<4x256x128xbf16>} : tensor<4x256x128xbf16>
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64, norm_topk = 1 : i64} : (tensor<32x256xbf16>, tensor<4x256xbf16>, tensor<4x256x256xbf16>, tensor<4x256x128xbf16>) -> tensor<32x256xbf16>
  %y2 = eff.moe %x2, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<2x256xbf16>, tensor<4x256xbf16>, tensor<4x256x256xbf16>, tensor<4x256x128xbf16>) -> tensor<2x256xbf16>
  return %y, %y2 : tensor<32x256xbf16>, tensor<2x256xbf16>
}
