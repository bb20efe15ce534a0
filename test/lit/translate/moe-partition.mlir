// The kernels of a partitioned eff.moe (--moe-partitions): eff.moe_route
// (scores once, fp32) and one eff.moe_experts per expert group, one block per
// token, a shared expert with its gate in the last group. All compile with
// NVRTC, and so do a bf16 Mixtral's and Qwen2-MoE's (bf16 storage, fp32
// routing) partitioned by effc --moe-partitions.
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST
// RUN: effc %s -o %t.effc
// RUN: effc-nvrtc-check %t.effc --arch=sm_80,sm_90,sm_90a | FileCheck %s --check-prefix=NVRTC
// RUN: effc %shared/models/mixtral-dynamo/model.onnx --shape input_ids=2x16 --dtype=bf16 --moe-partitions=2 -o %t.mixtral.effc
// RUN: effc-nvrtc-check %t.mixtral.effc --arch=sm_80,sm_90 | FileCheck %s --check-prefix=NVRTC
// RUN: effc %shared/decoders/qwen2moe/model.onnx --dim batch=2 --dim seq=16 --dtype=bf16 --moe-partitions=4 -o %t.qwen.effc
// RUN: effc-nvrtc-check %t.qwen.effc --arch=sm_80,sm_90 | FileCheck %s --check-prefix=NVRTC
// NVRTC: sm_80: {{[0-9]+}} kernels compiled
// NVRTC: sm_90: {{[0-9]+}} kernels compiled

// CHECK: static constexpr int T = 3, H = 8, E = 5, K = 2, ROUTING = MOE_SOFTMAX_TOPK;
// CHECK-NEXT: static constexpr bool NORM_TOPK = true, HAS_ROUTE_WEIGHTS = false;
// CHECK: // routing of 3 tokens over 5 experts, top-2 (one block per token)
// CHECK: moe_route_token<effc_moe_route_cfg_{{.*}}>(l);
// CHECK: static constexpr int T = 3, H = 8, K = 2, G = 3, FIRST = 0, I = 3, IS = 0;
// CHECK: // experts 0..2 of 3 tokens, top-2, I 3 (one block per token)
// CHECK: moe_experts_token<effc_moe_experts_cfg_{{.*}}, 256>(l);
// CHECK: static constexpr int T = 3, H = 8, K = 2, G = 2, FIRST = 3, I = 3, IS = 5;
// CHECK-NEXT: static constexpr bool GELU = true, HAS_SHARED = true, HAS_SHARED_GATE = true;
// CHECK: // experts 3..4 of 3 tokens, top-2, I 3, shared expert (one block per token)
// The groups' eff.stream goes to the manifest: the route and the sum stay on
// the session's stream (0, not printed), group p on side stream p + 1.
// MANIFEST: op: "eff.moe_route"
// MANIFEST-NOT: stream:
// MANIFEST: op: "eff.moe_experts"
// MANIFEST: stream: 1
// MANIFEST: op: "eff.moe_experts"
// MANIFEST: stream: 2
// MANIFEST: op: "eff.add"
// MANIFEST-NOT: stream:
func.func @main(%x: tensor<3x8xf32>) -> tensor<3x8xf32> {
  %r = eff.constant {value = dense<0.125> : tensor<5x8xf32>} : tensor<5x8xf32>
  %gu = eff.constant {value = dense<0.5> : tensor<5x6x8xf32>} : tensor<5x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<5x8x3xf32>} : tensor<5x8x3xf32>
  %sgu = eff.constant {value = dense<0.5> : tensor<10x8xf32>} : tensor<10x8xf32>
  %sd = eff.constant {value = dense<0.25> : tensor<8x5xf32>} : tensor<8x5xf32>
  %sg = eff.constant {value = dense<0.5> : tensor<1x8xf32>} : tensor<1x8xf32>
  %e, %w = eff.moe_route %x, %r {num_experts = 5 : i64, top_k = 2 : i64, norm_topk = 1 : i64} : (tensor<3x8xf32>, tensor<5x8xf32>) -> (tensor<3x2xi64>, tensor<3x2xf32>)
  %gu0 = eff.constant {value = dense<0.5> : tensor<3x6x8xf32>} : tensor<3x6x8xf32>
  %d0 = eff.constant {value = dense<0.25> : tensor<3x8x3xf32>} : tensor<3x8x3xf32>
  %gu1 = eff.constant {value = dense<0.75> : tensor<2x6x8xf32>} : tensor<2x6x8xf32>
  %d1 = eff.constant {value = dense<0.5> : tensor<2x8x3xf32>} : tensor<2x8x3xf32>
  %a = eff.moe_experts %x, %e, %w, %gu0, %d0 {eff.stream = 1 : i64, first_expert = 0 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0, 0>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<3x6x8xf32>, tensor<3x8x3xf32>) -> tensor<3x8xf32>
  %b = eff.moe_experts %x, %e, %w, %gu1, %d1, %sgu, %sd, %sg {eff.stream = 2 : i64, first_expert = 3 : i64, activation = "gelu", operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>} : (tensor<3x8xf32>, tensor<3x2xi64>, tensor<3x2xf32>, tensor<2x6x8xf32>, tensor<2x8x3xf32>, tensor<10x8xf32>, tensor<8x5xf32>, tensor<1x8xf32>) -> tensor<3x8xf32>
  %y = eff.add %a, %b : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
