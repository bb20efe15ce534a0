// eff-merge-sibling-linears: eff.matmul ops reading one activation with
// constant [K, N] weights of one K and element type become one matmul over
// the weights side by side (per row) and a constant slice per original
// result; a reader that splits the columns into heads reads whole heads of
// the merged result instead (slice on the heads axis after the reshape).
// Biases come along (zeros for a linear without). Skipped, with a remark:
// a gated pair, a weight stored [N, K], a non-constant weight, eff.lora_linear.
// RUN: effc-opt %s --eff-merge-sibling-linears -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-merge-sibling-linears=remarks=true -split-input-file -verify-diagnostics -o /dev/null

// q [8, 2] and k [8, 1] on x [2, 3, 8], each read by an elementwise op (a
// fused kernel takes the slice in): the merged weight's row k is q's row k
// then k's; each result is its columns.
// CHECK-LABEL: func.func @qk
// CHECK: %[[W:.*]] = eff.constant {value = dense<{{\[\[}}0.000000e+00, 1.000000e+00, 1.000000e+02], [2.000000e+00, 3.000000e+00, 1.010000e+02], [4.000000e+00, 5.000000e+00, 1.020000e+02]
// CHECK-SAME: tensor<8x3xf32>
// CHECK: %[[Y:.*]] = eff.matmul %arg0, %[[W]] : (tensor<2x3x8xf32>, tensor<8x3xf32>) -> tensor<2x3x3xf32>
// CHECK-NEXT: %[[S0:.*]] = eff.constant {value = dense<0> : tensor<1xi64>}
// CHECK-NEXT: %[[E0:.*]] = eff.constant {value = dense<2> : tensor<1xi64>}
// CHECK-NEXT: %[[A0:.*]] = eff.constant {value = dense<2> : tensor<1xi64>}
// CHECK: %[[Q:.*]] = eff.slice %[[Y]], %[[S0]], %[[E0]] axes %[[A0]] : {{.*}} -> tensor<2x3x2xf32>
// CHECK: %[[K:.*]] = eff.slice %[[Y]], {{.*}} -> tensor<2x3x1xf32>
// CHECK-NOT: eff.matmul
// CHECK: eff.neg %[[Q]]
// CHECK: eff.neg %[[K]]
func.func @qk(%x: tensor<2x3x8xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x1xf32>) {
  %wq = eff.constant {value = dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0], [10.0, 11.0], [12.0, 13.0], [14.0, 15.0]]> : tensor<8x2xf32>} : tensor<8x2xf32>
  %wk = eff.constant {value = dense<[[100.0], [101.0], [102.0], [103.0], [104.0], [105.0], [106.0], [107.0]]> : tensor<8x1xf32>} : tensor<8x1xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: merged eff.matmul (N = 2), eff.matmul (N = 1) into one GEMM over the weights concatenated along N ([8, 3]): eff.matmul columns [0, 2); eff.matmul columns [2, 3)}}
  %q = eff.matmul %x, %wq : (tensor<2x3x8xf32>, tensor<8x2xf32>) -> tensor<2x3x2xf32>
  %k = eff.matmul %x, %wk : (tensor<2x3x8xf32>, tensor<8x1xf32>) -> tensor<2x3x1xf32>
  %nq = eff.neg %q : (tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %nk = eff.neg %k : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  return %nq, %nk : tensor<2x3x2xf32>, tensor<2x3x1xf32>
}

// -----

// q/k/v split into heads of D = 2 by reshapes: the merged result [2, 3, 8]
// is reshaped through each reshape's own shape to [2, 3, 4, 2] and sliced on
// the heads axis (2): q heads [0, 2), k [2, 3), v [3, 4). v has a bias,
// q and k get zeros. Each head view is read by an elementwise op.
// CHECK-LABEL: func.func @qkv_heads
// CHECK: %[[W:.*]] = eff.constant {{.*}} : tensor<4x8xbf16>
// CHECK: %[[M:.*]] = eff.matmul %arg0, %[[W]] : (tensor<2x3x4xbf16>, tensor<4x8xbf16>) -> tensor<2x3x8xbf16>
// CHECK: %[[B:.*]] = eff.constant {value = dense<[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 1.000000e+00, 2.000000e+00]> : tensor<8xbf16>}
// CHECK: %[[Y:.*]] = eff.add %[[M]], %[[B]]
// CHECK: %[[R:.*]] = eff.reshape %[[Y]], %{{.*}} : (tensor<2x3x8xbf16>, tensor<4xi64>) -> tensor<2x3x4x2xbf16>
// CHECK: %[[Q:.*]] = eff.slice %[[R]], {{.*}} -> tensor<2x3x2x2xbf16>
// CHECK: eff.reshape %[[Y]], {{.*}} -> tensor<2x3x4x2xbf16>
// CHECK: eff.slice {{.*}} -> tensor<2x3x1x2xbf16>
// CHECK: eff.reshape %[[Y]], {{.*}} -> tensor<2x3x4x2xbf16>
// CHECK: eff.slice {{.*}} -> tensor<2x3x1x2xbf16>
// CHECK-NOT: eff.matmul
func.func @qkv_heads(%x: tensor<2x3x4xbf16>) -> (tensor<2x3x2x2xbf16>, tensor<2x3x1x2xbf16>, tensor<2x3x1x2xbf16>) {
  %wq = eff.constant {value = dense<0.5> : tensor<4x4xbf16>} : tensor<4x4xbf16>
  %wk = eff.constant {value = dense<0.25> : tensor<4x2xbf16>} : tensor<4x2xbf16>
  %wv = eff.constant {value = dense<2.0> : tensor<4x2xbf16>} : tensor<4x2xbf16>
  %bv = eff.constant {value = dense<[1.0, 2.0]> : tensor<2xbf16>} : tensor<2xbf16>
  %shape = eff.constant {value = dense<[2, 3, -1, 2]> : tensor<4xi64>} : tensor<4xi64>
  // expected-remark @+1 {{merged eff.matmul (N = 4), eff.matmul (N = 2), eff.matmul (N = 2) into one GEMM over the weights concatenated along N ([4, 8], biases too, zeros for a linear without): eff.matmul columns [0, 4) sliced as whole heads after its reshape; eff.matmul columns [4, 6) sliced as whole heads after its reshape; eff.matmul columns [6, 8) sliced as whole heads after its reshape}}
  %q = eff.matmul %x, %wq : (tensor<2x3x4xbf16>, tensor<4x4xbf16>) -> tensor<2x3x4xbf16>
  %qh = eff.reshape %q, %shape : (tensor<2x3x4xbf16>, tensor<4xi64>) -> tensor<2x3x2x2xbf16>
  %k = eff.matmul %x, %wk : (tensor<2x3x4xbf16>, tensor<4x2xbf16>) -> tensor<2x3x2xbf16>
  %kh = eff.reshape %k, %shape : (tensor<2x3x2xbf16>, tensor<4xi64>) -> tensor<2x3x1x2xbf16>
  %v0 = eff.matmul %x, %wv : (tensor<2x3x4xbf16>, tensor<4x2xbf16>) -> tensor<2x3x2xbf16>
  %v = eff.add %v0, %bv : (tensor<2x3x2xbf16>, tensor<2xbf16>) -> tensor<2x3x2xbf16>
  %vh = eff.reshape %v, %shape : (tensor<2x3x2xbf16>, tensor<4xi64>) -> tensor<2x3x1x2xbf16>
  %nq = eff.neg %qh : (tensor<2x3x2x2xbf16>) -> tensor<2x3x2x2xbf16>
  %nk = eff.neg %kh : (tensor<2x3x1x2xbf16>) -> tensor<2x3x1x2xbf16>
  %nv = eff.neg %vh : (tensor<2x3x1x2xbf16>) -> tensor<2x3x1x2xbf16>
  return %nq, %nk, %nv : tensor<2x3x2x2xbf16>, tensor<2x3x1x2xbf16>, tensor<2x3x1x2xbf16>
}

// -----

// Results returned as they are: each slice would be a kernel of its own
// (the launch the merge saves), so each linear keeps its GEMM.
// CHECK-LABEL: func.func @unabsorbed
// CHECK-COUNT-2: eff.matmul
// CHECK-NOT: eff.slice
func.func @unabsorbed(%x: tensor<4x8xf32>) -> (tensor<4x16xf32>, tensor<4x8xf32>) {
  %w0 = eff.constant {value = dense<0.5> : tensor<8x16xf32>} : tensor<8x16xf32>
  %w1 = eff.constant {value = dense<0.25> : tensor<8x8xf32>} : tensor<8x8xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged with the linears beside it: its columns would be read through a slice kernel of their own}}
  %a = eff.matmul %x, %w0 : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged with the linears beside it: its columns would be read through a slice kernel of their own}}
  %b = eff.matmul %x, %w1 : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return %a, %b : tensor<4x16xf32>, tensor<4x8xf32>
}

// -----

// A gated MLP: gate and up meet in the product (epilogue fusion puts it in
// up's GEMM), so nothing merges.
// CHECK-LABEL: func.func @gated
// CHECK-COUNT-2: eff.matmul
// CHECK-NOT: eff.slice
func.func @gated(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %wg = eff.constant {value = dense<0.5> : tensor<8x16xf32>} : tensor<8x16xf32>
  %wu = eff.constant {value = dense<0.25> : tensor<8x16xf32>} : tensor<8x16xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged (eff.matmul (N = 16), eff.matmul (N = 16)): the results of eff.matmul and eff.matmul meet in an elementwise op (a gated pair), which eff-fuse-gemm-epilogue puts into one GEMM's epilogue: no launch to save}}
  %g = eff.matmul %x, %wg : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{not merged (eff.matmul (N = 16), eff.matmul (N = 16)): the results of}}
  %u = eff.matmul %x, %wu : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %s = eff.sigmoid %g : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %a = eff.mul %g, %s : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = eff.mul %a, %u : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Siblings that cannot merge: a weight stored [N, K], a weight that is an
// argument, a LoRA linear; the one plain linear left has no partner.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: eff.matmul
// CHECK-NOT: eff.slice
func.func @kept(%x: tensor<4x8xf32>, %w2: tensor<8x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>) {
  %la = eff.constant {value = dense<0.5> : tensor<8x2xf32>} : tensor<8x2xf32>
  %lb = eff.constant {value = dense<0.5> : tensor<2x4xf32>} : tensor<2x4xf32>
  %w0 = eff.constant {value = dense<0.5> : tensor<8x4xf32>} : tensor<8x4xf32>
  %w1 = eff.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged: no other linear reading the same activation has a constant weight of the same K and element type}}
  %a = eff.matmul %x, %w0 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged with the linears beside it: its weight is stored [N, K] (transB = 1)}}
  %b = eff.matmul %x, %w1 {transB = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x4xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged with the linears beside it: its weight is not a constant}}
  %c = eff.matmul %x, %w2 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  // expected-remark @+1 {{eff-merge-sibling-linears: not merged with the linears beside it: eff.lora_linear keeps its own kernel (its adapter or packed weight is not a plain constant [K, N])}}
  %d = eff.lora_linear %x, %w0, %la, %lb {scale = 2.0 : f64} : (tensor<4x8xf32>, tensor<8x4xf32>, tensor<8x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %a, %b, %c, %d : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>
}
