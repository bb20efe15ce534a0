// Gemm forms: GPT-2's Conv1D (weight [in, out], fan_in_fan_out) with a bias,
// and a legacy-exporter Linear (Gemm transB = 1, weight [out, in]).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %inputs/make_lora_adapter.py %t/a --module transformer.h.0.attn.c_attn:4:6:2 --module encoder.dense:4:2:2 --config '{"target_modules": ["c_attn", "dense"]}'
// RUN: effc-opt %s --eff-insert-lora="adapters=%t/a" | FileCheck %s
// RUN: effc-opt %s --eff-insert-lora="adapters=%t/a merge=true" | FileCheck %s --check-prefix=MERGE

// CHECK-LABEL: func.func @main
// CHECK: %[[L:.*]] = eff.lora_linear %arg0, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<5x4xf32>, tensor<4x6xf32>, tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<5x6xf32>
// CHECK: eff.add %[[L]], %{{.*}} : (tensor<5x6xf32>, tensor<6xf32>) -> tensor<5x6xf32>
// CHECK-NOT: eff.gemm
// MERGE-LABEL: func.func @main
// MERGE: eff.gemm
// MERGE-NOT: eff.lora_linear

// The transB weight [2, 4] becomes [4, 2] for eff.lora_linear; merged, the
// delta is added in the stored [out, in] orientation: W' = W + 2 B A, whose
// rows are [.5, .5, 0, 0] + [1, 0, ...] and [.25, 1, 0, 0].
// CHECK: eff.constant {value = dense<{{\[\[}}1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>}
// CHECK: eff.lora_linear %arg0, %{{.*}} : (tensor<5x4xf32>, tensor<4x2xf32>, tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<5x2xf32>
// MERGE: eff.constant {value = dense<{{\[\[}}1.500000e+00, 5.000000e-01, 0.000000e+00, 0.000000e+00], [2.500000e-01, 1.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<2x4xf32>}
// MERGE: eff.gemm
func.func @main(%x: tensor<5x4xf32>) -> (tensor<5x6xf32>, tensor<5x2xf32>) {
  %w = eff.constant {value = dense<1.0> : tensor<4x6xf32>} : tensor<4x6xf32>
  %b = eff.constant {value = dense<0.5> : tensor<6xf32>} : tensor<6xf32>
  %y = eff.gemm %x, %w, %b : (tensor<5x4xf32>, tensor<4x6xf32>, tensor<6xf32>) -> tensor<5x6xf32> loc(fused<"m.transformer.h.0.attn.c_attn">["/m/transformer/h.0/attn/c_attn/Gemm"])
  %w2 = eff.constant {value = dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %y2 = eff.gemm %x, %w2 {transB = 1 : i64} : (tensor<5x4xf32>, tensor<2x4xf32>) -> tensor<5x2xf32> loc(fused<"m.encoder.dense">["/m/encoder/dense/Gemm"])
  return %y, %y2 : tensor<5x6xf32>, tensor<5x2xf32>
}
