// effc-opt --effc-pipeline runs the passes effc runs (compiler/Pipeline.cpp),
// with effc's flags as pipeline options: one RUN line per option set.
// RUN: effc-opt %s --effc-pipeline | FileCheck %s --check-prefix=DEFAULT
// RUN: effc-opt %s --effc-pipeline=fuse=false | FileCheck %s --check-prefix=NOFUSE
// RUN: effc-opt %s --effc-pipeline=raise-attention=false | FileCheck %s --check-prefix=NORAISE
// RUN: effc-opt %s --effc-pipeline=dtype=bf16 | FileCheck %s --check-prefix=BF16
// RUN: effc-opt %s --effc-pipeline="dtype=fp16 split-kv-decode=false fuse=false" | FileCheck %s --check-prefix=NOSPLIT
// RUN: effc-opt %s --effc-pipeline="remarks=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARKS
// RUN: effc-opt %s --effc-pipeline="remarks=true raise-attention=false" -o /dev/null 2>&1 | FileCheck %s --check-prefix=FUSION-REMARKS
// RUN: effc-opt %s --effc-pipeline="moe-partitions=2 fuse=false" | FileCheck %s --check-prefix=MOEPART
// RUN: effc-opt %s --effc-pipeline="devices=2 fuse=false" | FileCheck %s --check-prefix=DEVICES
// kv-state (eff-kv-cache-inplace state=true): no cache here, so the default.
// RUN: effc-opt %s --effc-pipeline="kv-state=true" | FileCheck %s --check-prefix=DEFAULT
// RUN: not effc-opt %s --effc-pipeline=no-such-option=1 2>&1 | FileCheck %s --check-prefix=BADOPT

// Attention, then a projection with bias, GELU and a residual.
// DEFAULT-LABEL: func.func @attention_mlp
// DEFAULT: %[[A:.*]] = eff.attention %arg0, %arg1, %arg2 {num_kv_heads = 2 : i64, scale = 0.353553{{[0-9]*}} : f32}
// DEFAULT: eff.fusion gemm_epilogue(%[[A]], %arg3, %arg4)
// DEFAULT: eff.matmul
// DEFAULT-NEXT: eff.add
// DEFAULT-NEXT: eff.gelu
// DEFAULT-NEXT: eff.add
// DEFAULT-NEXT: eff.neg
// DEFAULT-NOT: eff.softmax
// DEFAULT-LABEL: func.func @decode
// DEFAULT: eff.attention %arg0, %arg1, %arg2
// DEFAULT-NOT: eff.attention_partial

// NOFUSE-LABEL: func.func @attention_mlp
// NOFUSE: eff.attention
// NOFUSE-NEXT: eff.matmul
// NOFUSE-NEXT: eff.add
// NOFUSE-NEXT: eff.gelu
// NOFUSE-NOT: eff.fusion

// NORAISE-LABEL: func.func @attention_mlp
// NORAISE-NOT: eff.attention
// NORAISE: eff.fusion gemm_epilogue
// NORAISE: eff.div
// NORAISE: eff.softmax

// fp32 attention stays whole; bf16 decode (one query, 1024 keys) splits.
// BF16-LABEL: func.func @attention_mlp
// BF16: eff.attention {{.*}} -> tensor<1x2x4x8xbf16>
// BF16-LABEL: func.func @decode
// BF16: eff.attention_partial {{.*}}num_splits = 16
// BF16-NEXT: eff.attention_combine

// NOSPLIT-LABEL: func.func @decode
// NOSPLIT: eff.attention {{.*}} -> tensor<1x4x1x64xf16>
// NOSPLIT-NOT: eff.attention_partial

// REMARKS: remark: raised attention (num_kv_heads=2, scale=0.353553)
// REMARKS: remark: attention not split: fp32 keeps the exact attention kernel

// Unraised, the P*V product is read by the projection and the residual.
// FUSION-REMARKS: :[[# @LINE + 11]]:8: remark: no epilogue fused: its result has 2 uses
// FUSION-REMARKS: :[[# @LINE + 26]]:8: remark: no epilogue fused: its result is returned

// BADOPT: no-such-option

func.func @attention_mlp(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>) -> tensor<1x2x4x8xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = eff.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %c = eff.constant {value = dense<2.82842708> : tensor<f32>} : tensor<f32>
  %d = eff.div %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = eff.softmax %d : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = eff.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %h = eff.matmul %o, %w : (tensor<1x2x4x8xf32>, tensor<8x8xf32>) -> tensor<1x2x4x8xf32>
  %hb = eff.add %h, %b : (tensor<1x2x4x8xf32>, tensor<8xf32>) -> tensor<1x2x4x8xf32>
  %g = eff.gelu %hb : (tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %r = eff.add %g, %o : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %n = eff.neg %r : (tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %n : tensor<1x2x4x8xf32>
}

// A decode step: one query over 1024 cached keys.
func.func @decode(%q: tensor<1x4x1x64xf32>, %k: tensor<1x4x1024x64xf32>, %v: tensor<1x4x1024x64xf32>) -> tensor<1x4x1x64xf32> {
  %kt = eff.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x4x1024x64xf32>) -> tensor<1x4x64x1024xf32>
  %s = eff.matmul %q, %kt : (tensor<1x4x1x64xf32>, tensor<1x4x64x1024xf32>) -> tensor<1x4x1x1024xf32>
  %c = eff.constant {value = dense<8.0> : tensor<f32>} : tensor<f32>
  %d = eff.div %s, %c : (tensor<1x4x1x1024xf32>, tensor<f32>) -> tensor<1x4x1x1024xf32>
  %p = eff.softmax %d : (tensor<1x4x1x1024xf32>) -> tensor<1x4x1x1024xf32>
  %o = eff.matmul %p, %v : (tensor<1x4x1x1024xf32>, tensor<1x4x1024x64xf32>) -> tensor<1x4x1x64xf32>
  return %o : tensor<1x4x1x64xf32>
}

// A MoE layer: no expert groups by default, two over one routing with
// moe-partitions=2.
// DEFAULT-LABEL: func.func @moe
// DEFAULT-NOT: eff.moe_experts
// MOEPART-LABEL: func.func @moe
// MOEPART: eff.moe_route %arg0, %arg1
// MOEPART-NEXT: eff.moe_experts {{.*}}first_expert = 0
// MOEPART-NEXT: eff.moe_experts {{.*}}first_expert = 2
// MOEPART-NEXT: eff.add
// devices=2 splits it into (at least) two groups, one a device, summed by
// the all-reduce; the projection above, whose weight is an argument, stays
// replicated.
// DEVICES-LABEL: func.func @attention_mlp
// DEVICES-NOT: eff.device =
// DEVICES-LABEL: func.func @moe
// DEVICES: eff.moe_route %arg0, %arg1
// DEVICES-NEXT: eff.moe_experts {{.*}}eff.device = 0 : i64{{.*}}first_expert = 0
// DEVICES-NEXT: eff.moe_experts {{.*}}eff.device = 1 : i64{{.*}}first_expert = 2
// DEVICES-NEXT: eff.all_reduce {{.*}}{devices = array<i64: 0, 1>}
func.func @moe(%x: tensor<3x8xf32>, %r: tensor<4x8xf32>) -> tensor<3x8xf32> {
  %gu = eff.constant {value = dense<0.5> : tensor<4x6x8xf32>} : tensor<4x6x8xf32>
  %d = eff.constant {value = dense<0.25> : tensor<4x8x3xf32>} : tensor<4x8x3xf32>
  %y = eff.moe %x, %r experts %gu, %d {num_experts = 4 : i64, top_k = 2 : i64} : (tensor<3x8xf32>, tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<4x8x3xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
