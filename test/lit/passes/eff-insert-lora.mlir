// The adapter (test/lit/Inputs/make_lora_adapter.py): q_proj of layer 0, r = 2,
// lora_alpha = 4 (scale 2), A = [[.25, 0, 0, 0], [0, .5, 0, 0]],
// B = [[1, .5], [.5, 1], [.5, .5], [.5, .5]].
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %inputs/make_lora_adapter.py %t/q --module model.layers.0.self_attn.q_proj:4:4:2
// RUN: %python %inputs/make_lora_adapter.py %t/q16 --module model.layers.0.self_attn.q_proj:4:4:2 --dtype F16

// Unmerged: the q_proj matmul becomes eff.lora_linear with A^T [4, 2] and
// scale * B^T [2, 4]; k_proj (not adapted) stays a matmul.
// RUN: effc-opt %s --eff-insert-lora="adapters=%t/q" | FileCheck %s --check-prefix=BRANCH
// RUN: effc-opt %s --eff-insert-lora="adapters=%t/q16" | FileCheck %s --check-prefix=BRANCH
// BRANCH-LABEL: func.func @main
// BRANCH-SAME: attributes {eff.lora_adapters = [
// BRANCH-DAG: %[[A:.*]] = eff.constant {value = dense<{{\[\[}}2.500000e-01, 0.000000e+00], [0.000000e+00, 5.000000e-01], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>}
// BRANCH-DAG: %[[B:.*]] = eff.constant {value = dense<{{\[\[}}2.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 2.000000e+00, 1.000000e+00, 1.000000e+00]]> : tensor<2x4xf32>}
// BRANCH: eff.lora_linear %arg0, %{{.*}}, %[[A]], %[[B]]
// BRANCH-SAME: -> tensor<2x3x4xf32>
// BRANCH: eff.matmul %arg0

// Merged: W' = W + 2 * (B A)^T, rows k = 0, 1 change (A reads x[0], x[1]).
// RUN: effc-opt %s --eff-insert-lora="adapters=%t/q merge=true" | FileCheck %s --check-prefix=MERGE
// MERGE-LABEL: func.func @main
// MERGE-SAME: attributes {eff.lora_merged = [
// MERGE-NOT: eff.lora_linear
// MERGE: %[[W:.*]] = eff.constant {value = dense<{{\[\[}}1.500000e+00, 2.500000e-01, 2.500000e-01, 2.500000e-01], [5.000000e-01, 2.000000e+00, 5.000000e-01, 5.000000e-01], [0.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 1.000000e+00]]>
// MERGE: eff.matmul %arg0, %[[W]]

// Two named adapters: stacked [2, 4, 2] / [2, 2, 4] and a lora_index input
// sized by the first input's batch dim.
// RUN: effc-opt %s --eff-insert-lora="adapters=a=%t/q,b=%t/q16" | FileCheck %s --check-prefix=INDEX
// INDEX-LABEL: func.func @main
// INDEX-SAME: %arg1: tensor<2xi64> {eff.name = "lora_index"}
// INDEX-SAME: eff.lora_adapters = ["a", "b"]
// INDEX: eff.lora_linear %arg0, %{{.*}}, %{{.*}}, %{{.*}}, %arg1 : (tensor<2x3x4xf32>, tensor<4x4xf32>, tensor<2x4x2xf32>, tensor<2x2x4xf32>, tensor<2xi64>) -> tensor<2x3x4xf32>

#q = loc(fused<"m.model.layers.0.self_attn.q_proj">["node_q"])
#k = loc(fused<"m.model.layers.0.self_attn.k_proj">["node_k"])
func.func @main(%x: tensor<2x3x4xf32> {eff.name = "input_ids"}) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %wq = eff.constant {value = dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]> : tensor<4x4xf32>} : tensor<4x4xf32>
  %wk = eff.constant {value = dense<2.0> : tensor<4x4xf32>} : tensor<4x4xf32>
  %q = eff.matmul %x, %wq : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32> loc(#q)
  %k = eff.matmul %x, %wk : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32> loc(#k)
  return %q, %k : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}
