// The kernels of eff-lower-moe's stages: prefill (12 tokens, bf16) sorts the
// slots by expert (moe_permute: one block of 1024) and runs each expert GEMM
// as one grouped tensor-core launch over the experts (tiles of 128 positions:
// at most ceil(24/128) + E - 1 = 4 of them; gate/up 64 columns per block,
// down 128; k-tiles of 64 in 3 stages where KD % 64 == 0: 96 KiB); the shared expert's 12 dense rows take the GEMV kernel; decode (2 tokens)
// skips the permutation and streams the weights with the GEMV kernel (one
// warp per output column, 8 per block, one block row per expert). Sizes the
// tensor-core kernel cannot tile take the GEMV kernel on sorted rows. All
// compile with NVRTC, and so do the bf16 MoE models of ../shared.
// RUN: effc-opt %s -eff-lower-moe -canonicalize > %t.mlir
// RUN: effc-translate --eff-to-plan %t.mlir | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %t.mlir | FileCheck %s --check-prefix=CUDA
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %shared/models/mixtral-dynamo/model.onnx --shape input_ids=2x16 --dtype=bf16 -o %t.mixtral.effc
// RUN: effc-nvrtc-check %t.mixtral.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %shared/decoders/qwen2moe/model.onnx --dim batch=1 --dim seq=4 --dtype=bf16 -o %t.qwen.effc
// RUN: effc-nvrtc-check %t.qwen.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// NVRTC: sm_80: {{[0-9]+}} kernels compiled
// NVRTC: sm_90: {{[0-9]+}} kernels compiled
// NVRTC: sm_90a: {{[0-9]+}} kernels compiled

// PLAN: k{{[0-9]+}}_moe_permute MoE permute grid=(1,1,1) block=(1024,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE grouped-mma grid=(4,1,1) block=(256,1,1) smem=98304
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE grouped-mma grid=(4,1,1) block=(256,1,1) smem=98304
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(16,1,1) block=(256,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(16,1,1) block=(256,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_combine MoE combine grid=(12,1,1) block=(256,1,1) smem=0
// PLAN-NOT: moe_permute
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(8,4,1) block=(256,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(16,4,1) block=(256,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_combine MoE combine grid=(2,1,1) block=(256,1,1) smem=0
// PLAN: k{{[0-9]+}}_moe_permute MoE permute
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(5,3,1)
// PLAN: k{{[0-9]+}}_moe_expert_gemm MoE gemv grid=(5,3,1)

// CUDA: static constexpr int T = 12, E = 4, K = 2;
// CUDA: moe_permute<k{{[0-9]+}}_moe_permute_cfg>((const long long*)in0, (int*)out0);
// CUDA: static constexpr int N = 64, KD = 128, T = 12, K = 2, E = 4;
// CUDA-NEXT: static constexpr int DT = MOE_BF16, OUT_DT = MOE_BF16, VEC = 8, SLOT_CAP = 1, BK = 64, STAGES = 3, BN = 128, UNROLL = 1;
// CUDA-NEXT: static constexpr bool BF16 = true, SORTED = true, DENSE = false, GATED = true, GELU = false;
// CUDA: // gate/up of 4 experts: [24, 64] over 128 (tensor cores)
// CUDA: moe_grouped_mma<k{{[0-9]+}}_moe_expert_gemm_cfg>(in0, in1, (const int*)in2, out0);
// CUDA: // y [12, 128] = the weighted sum of 2 expert rows per token + the shared expert
// CUDA: // gate/up of 4 experts: [4, 64] over 128 (GEMV)
// CUDA: moe_expert_gemv<k{{[0-9]+}}_moe_expert_gemm_cfg>(in0, in1, in2, out0);

func.func @main(%x: tensor<12x128xbf16>, %x2: tensor<2x128xbf16>, %x3: tensor<20x40xbf16>) -> (tensor<12x128xbf16>, tensor<2x128xbf16>, tensor<20x40xbf16>) {
  %r = eff.constant {value = dense<0.125> : tensor<4x128xbf16>} : tensor<4x128xbf16>
  %gu = eff.constant {value = dense<0.5> : tensor<4x128x128xbf16>} : tensor<4x128x128xbf16>
  %d = eff.constant {value = dense<0.25> : tensor<4x128x64xbf16>} : tensor<4x128x64xbf16>
  %sgu = eff.constant {value = dense<0.5> : tensor<256x128xbf16>} : tensor<256x128xbf16>
  %sd = eff.constant {value = dense<0.25> : tensor<128x128xbf16>} : tensor<128x128xbf16>
  %sg = eff.constant {value = dense<0.5> : tensor<1x128xbf16>} : tensor<1x128xbf16>
  %y = eff.moe %x, %r experts %gu, %d shared %sgu, %sd shared_gate %sg {num_experts = 4 : i64, top_k = 2 : i64, norm_topk = 1 : i64} : (tensor<12x128xbf16>, tensor<4x128xbf16>, tensor<4x128x128xbf16>, tensor<4x128x64xbf16>, tensor<256x128xbf16>, tensor<128x128xbf16>, tensor<1x128xbf16>) -> tensor<12x128xbf16>
  %y2 = eff.moe %x2, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<2x128xbf16>, tensor<4x128xbf16>, tensor<4x128x128xbf16>, tensor<4x128x64xbf16>) -> tensor<2x128xbf16>
  %r3 = eff.constant {value = dense<0.125> : tensor<3x40xbf16>} : tensor<3x40xbf16>
  %gu3 = eff.constant {value = dense<0.5> : tensor<3x72x40xbf16>} : tensor<3x72x40xbf16>
  %d3 = eff.constant {value = dense<0.25> : tensor<3x40x36xbf16>} : tensor<3x40x36xbf16>
  %y3 = eff.moe %x3, %r3 experts %gu3, %d3 {num_experts = 3 : i64, top_k = 2 : i64, routing = "topk_softmax", activation = "gelu"} : (tensor<20x40xbf16>, tensor<3x40xbf16>, tensor<3x72x40xbf16>, tensor<3x40x36xbf16>) -> tensor<20x40xbf16>
  return %y, %y2, %y3 : tensor<12x128xbf16>, tensor<2x128xbf16>, tensor<20x40xbf16>
}
