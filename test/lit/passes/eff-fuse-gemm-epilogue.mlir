// RUN: effc-opt %s --eff-fuse-elementwise --eff-fuse-gemm-epilogue -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-elementwise --eff-fuse-gemm-epilogue -split-input-file | effc-opt -split-input-file | FileCheck %s

// Linear + bias + GELU: the elementwise fusion that reads the matmul moves
// into its epilogue; the matmul's operands become the first inputs.
// CHECK-LABEL: func.func @bias_gelu
// CHECK-NOT: eff.matmul
// CHECK: %[[F:.*]] = eff.fusion gemm_epilogue(%arg0, %arg1, %arg2) : (tensor<4x16xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<16x8xf32>, %[[B:.*]]: tensor<8xf32>):
// CHECK-NEXT: %[[MM:.*]] = eff.matmul %[[A]], %[[W]]
// CHECK-NEXT: %[[S:.*]] = eff.add %[[MM]], %[[B]]
// CHECK-NEXT: %[[G:.*]] = eff.gelu %[[S]]
// CHECK-NEXT: eff.yield %[[G]] : tensor<4x8xf32>
// CHECK: return %[[F]]
func.func @bias_gelu(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %s = eff.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %g = eff.gelu %s : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %g : tensor<4x8xf32>
}

// -----

// A single elementwise consumer (residual add over a batched matmul) fuses.
// CHECK-LABEL: func.func @residual
// CHECK: eff.fusion gemm_epilogue(%arg0, %arg1, %arg2)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.matmul
// CHECK-NEXT: eff.add
// CHECK-NEXT: eff.yield
func.func @residual(%a: tensor<2x4x16xf32>, %w: tensor<16x8xf32>, %r: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<2x4x16xf32>, tensor<16x8xf32>) -> tensor<2x4x8xf32>
  %y = eff.add %r, %x : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// Gemm (with C) + scale + cast: the epilogue may change the stored dtype.
// CHECK-LABEL: func.func @scale_cast
// CHECK: eff.fusion gemm_epilogue(%arg0, %arg1, %arg2, %{{.*}}) : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>, tensor<f32>) -> tensor<4x8xf16>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.gemm
// CHECK-NEXT: eff.mul
// CHECK-NEXT: eff.cast
// CHECK-NEXT: eff.yield
func.func @scale_cast(%a: tensor<4x16xf32>, %w: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<4x8xf16> {
  %k = eff.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %x = eff.gemm %a, %w, %c {transB = 1 : i64} : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = eff.mul %x, %k : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %h = eff.cast %s {to = 10 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return %h : tensor<4x8xf16>
}

// -----

// The matmul result is also returned: it must reach memory, no fusion.
// CHECK-LABEL: func.func @multi_use
// CHECK: %[[X:.*]] = eff.matmul
// CHECK-NOT: gemm_epilogue
// CHECK: return
func.func @multi_use(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %y = eff.relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %x, %y : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A consumer that broadcasts the matmul result to a larger shape is not an
// epilogue of it.
// CHECK-LABEL: func.func @shape_change
// CHECK: eff.matmul
// CHECK-NOT: gemm_epilogue
// CHECK: return
func.func @shape_change(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %r: tensor<3x4x8xf32>) -> tensor<3x4x8xf32> {
  %x = eff.matmul %a, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %y = eff.add %x, %r : (tensor<4x8xf32>, tensor<3x4x8xf32>) -> tensor<3x4x8xf32>
  return %y : tensor<3x4x8xf32>
}

// -----

// LoRA: the base GEMM absorbs the eff.lora_expand on its result (t, b and
// lora_index become inputs after A and B), then the expand's elementwise
// consumer (bias + GELU). The shrink GEMM feeding t is not an epilogue host:
// its result is the expand's t, not its acc.
// CHECK-LABEL: func.func @lora_expand_bias_gelu
// CHECK: %[[T:.*]] = eff.matmul %arg0, %arg2 : (tensor<2x16x64xf32>, tensor<64x8xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT: %[[F:.*]] = eff.fusion gemm_epilogue(%arg0, %arg1, %[[T]], %arg3, %arg4, %arg5) : (tensor<2x16x64xf32>, tensor<64x32xf32>, tensor<2x16x8xf32>, tensor<2x4x32xf32>, tensor<2xi64>, tensor<32xf32>) -> tensor<2x16x32xf32> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<2x16x64xf32>, %[[W:.*]]: tensor<64x32xf32>, %[[TA:.*]]: tensor<2x16x8xf32>, %[[B:.*]]: tensor<2x4x32xf32>, %[[I:.*]]: tensor<2xi64>, %[[BIAS:.*]]: tensor<32xf32>):
// CHECK-NEXT: %[[MM:.*]] = eff.matmul %[[X]], %[[W]]
// CHECK-NEXT: %[[E:.*]] = eff.lora_expand %[[MM]], %[[TA]], %[[B]], %[[I]] {scale = 2.000000e+00 : f64}
// CHECK-NEXT: %[[S:.*]] = eff.add %[[E]], %[[BIAS]]
// CHECK-NEXT: %[[G:.*]] = eff.gelu %[[S]]
// CHECK-NEXT: eff.yield %[[G]]
// CHECK: return %[[F]]
func.func @lora_expand_bias_gelu(%x: tensor<2x16x64xf32>, %w: tensor<64x32xf32>, %a: tensor<64x8xf32>, %b: tensor<2x4x32xf32>, %i: tensor<2xi64>, %bias: tensor<32xf32>) -> tensor<2x16x32xf32> {
  %t = eff.matmul %x, %a : (tensor<2x16x64xf32>, tensor<64x8xf32>) -> tensor<2x16x8xf32>
  %y0 = eff.matmul %x, %w : (tensor<2x16x64xf32>, tensor<64x32xf32>) -> tensor<2x16x32xf32>
  %y = eff.lora_expand %y0, %t, %b, %i {scale = 2.0 : f64} : (tensor<2x16x32xf32>, tensor<2x16x8xf32>, tensor<2x4x32xf32>, tensor<2xi64>) -> tensor<2x16x32xf32>
  %s = eff.add %y, %bias : (tensor<2x16x32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  %g = eff.gelu %s : (tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  return %g : tensor<2x16x32xf32>
}

// -----

// GPT-2's gemm with a bias C, then the LoRA expand and nothing else; the
// expand result is returned, the GEMM result never reaches memory.
// CHECK-LABEL: func.func @gemm_lora_expand
// CHECK: eff.fusion gemm_epilogue(%arg0, %arg1, %arg2, %arg3, %arg4) : (tensor<32x128xf32>, tensor<128x384xf32>, tensor<384xf32>, tensor<32x16xf32>, tensor<16x384xf32>) -> tensor<32x384xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.gemm
// CHECK-NEXT: eff.lora_expand
// CHECK-NEXT: eff.yield
func.func @gemm_lora_expand(%x: tensor<32x128xf32>, %w: tensor<128x384xf32>, %c: tensor<384xf32>, %t: tensor<32x16xf32>, %b: tensor<16x384xf32>) -> tensor<32x384xf32> {
  %y0 = eff.gemm %x, %w, %c : (tensor<32x128xf32>, tensor<128x384xf32>, tensor<384xf32>) -> tensor<32x384xf32>
  %y = eff.lora_expand %y0, %t, %b {scale = 4.0 : f64} : (tensor<32x384xf32>, tensor<32x16xf32>, tensor<16x384xf32>) -> tensor<32x384xf32>
  return %y : tensor<32x384xf32>
}

// -----

// The expand's result is also returned: the expand fuses, its consumer
// stays a separate kernel.
// CHECK-LABEL: func.func @lora_expand_multi_use
// CHECK: %[[F:.*]] = eff.fusion gemm_epilogue
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.matmul
// CHECK-NEXT: eff.lora_expand
// CHECK-NEXT: eff.yield
// CHECK: eff.relu %[[F]]
func.func @lora_expand_multi_use(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>, %t: tensor<4x2xf32>, %b: tensor<2x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %y0 = eff.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %y = eff.lora_expand %y0, %t, %b : (tensor<4x8xf32>, tensor<4x2xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %r = eff.relu %y : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %r : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// SwiGLU with LoRA on gate and up: silu(gate) * up joins the first GEMM's
// epilogue; the second GEMM keeps only its own expand.
// CHECK-LABEL: func.func @lora_swiglu
// CHECK: %[[UP:.*]] = eff.fusion gemm_epilogue
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.matmul
// CHECK-NEXT: eff.lora_expand
// CHECK-NEXT: eff.yield
// CHECK: eff.fusion gemm_epilogue({{.*}}%[[UP]]{{.*}})
// CHECK-NEXT: ^bb0
// CHECK-NEXT: eff.matmul
// CHECK-NEXT: eff.lora_expand
// CHECK-NEXT: eff.sigmoid
// CHECK-NEXT: eff.mul
// CHECK-NEXT: eff.mul
// CHECK-NEXT: eff.yield
func.func @lora_swiglu(%x: tensor<4x16xf32>, %wg: tensor<16x8xf32>, %wu: tensor<16x8xf32>, %t: tensor<4x4xf32>, %bg: tensor<2x8xf32>, %bu: tensor<2x8xf32>) -> tensor<4x8xf32> {
  %g0 = eff.matmul %x, %wg : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %g = eff.lora_expand %g0, %t, %bg : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %u0 = eff.matmul %x, %wu : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %u = eff.lora_expand %u0, %t, %bu {t_offset = 2 : i64} : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<2x8xf32>) -> tensor<4x8xf32>
  %s = eff.sigmoid %g : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %sg = eff.mul %g, %s : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = eff.mul %sg, %u : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
