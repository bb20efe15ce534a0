// RUN: effc-opt %s --eff-convert-float-type=dtype=bf16 --canonicalize -split-input-file | FileCheck %s --check-prefix=BF16
// RUN: effc-opt %s --eff-convert-float-type=dtype=fp16 --canonicalize -split-input-file | FileCheck %s --check-prefix=FP16
// RUN: effc-opt %s --eff-convert-float-type=dtype=fp32 -split-input-file | FileCheck %s --check-prefix=FP32
// RUN: not effc-opt %s --eff-convert-float-type=dtype=int4 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// Weights are converted at compile time (the cast folds into the constant),
// the input is cast on entry, the computation runs in the target type, and
// the result is cast back so the interface stays fp32.
// BF16-LABEL: func.func @linear
// BF16-SAME: (%[[X:.*]]: tensor<2x4xf32>) -> tensor<2x4xf32>
// BF16-DAG: %[[W:.*]] = eff.constant {value = dense<{{.*}}> : tensor<4xbf16>}
// BF16-DAG: %[[XC:.*]] = eff.cast %[[X]] {to = 16 : i64} : (tensor<2x4xf32>) -> tensor<2x4xbf16>
// BF16: %[[M:.*]] = eff.mul %[[XC]], %[[W]] : (tensor<2x4xbf16>, tensor<4xbf16>) -> tensor<2x4xbf16>
// BF16: %[[R:.*]] = eff.cast %[[M]] {to = 1 : i64} : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// BF16: return %[[R]]
// FP16-LABEL: func.func @linear
// FP16: eff.mul {{.*}} -> tensor<2x4xf16>
// FP32-LABEL: func.func @linear
// FP32: eff.mul {{.*}} -> tensor<2x4xf32>
// FP32-NOT: eff.cast
// BAD: dtype must be bf16, fp16 or fp32, got 'int4'
func.func @linear(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = eff.constant {value = dense<[1.0, 2.0, 0.5, 0.25]> : tensor<4xf32>} : tensor<4xf32>
  %y = eff.mul %x, %w : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Integer tensors are left alone; an explicit cast to float follows the target.
// FP32-LABEL: func.func @ints
// BF16-LABEL: func.func @ints
// BF16: eff.cast %{{.*}} {to = 16 : i64} : (tensor<3xi64>) -> tensor<3xbf16>
// BF16: eff.cast %{{.*}} {to = 1 : i64} : (tensor<3xbf16>) -> tensor<3xf32>
func.func @ints(%i: tensor<3xi64>) -> tensor<3xf32> {
  %f = eff.cast %i {to = 1 : i64} : (tensor<3xi64>) -> tensor<3xf32>
  return %f : tensor<3xf32>
}

// -----

// An MoE router (matmul -> softmax -> top_k) stays fp32 with its weight:
// rounding router logits flips near-tied expert choices. Its activation input
// is cast up, the selected weights cast down for the expert computation.
// BF16-LABEL: func.func @router
// BF16-DAG: %[[W:.*]] = eff.constant {{.*}} : tensor<4x8xf32>
// BF16: %[[X32:.*]] = eff.cast %{{.*}} {to = 1 : i64} : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// BF16: %[[L:.*]] = eff.matmul %[[X32]], %[[W]] : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
// BF16: %[[P:.*]] = eff.softmax %[[L]] {{.*}} -> tensor<2x8xf32>
// BF16: %{{.*}}, %{{.*}} = eff.top_k %[[P]], %{{.*}} : (tensor<2x8xf32>, tensor<1xi64>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
// BF16: eff.cast %{{.*}} {to = 16 : i64} : (tensor<2x2xf32>) -> tensor<2x2xbf16>
// FP32-LABEL: func.func @router
func.func @router(%x: tensor<2x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>) {
  %w = eff.constant {value = dense<0.5> : tensor<4x8xf32>} : tensor<4x8xf32>
  %k = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %h = eff.relu %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %l = eff.matmul %h, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %p = eff.softmax %l : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %v, %i = eff.top_k %p, %k : (tensor<2x8xf32>, tensor<1xi64>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %s = eff.neg %v : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %s, %i : tensor<2x2xf32>, tensor<2x2xi64>
}

// -----

// eff.quant_linear computes in the target type, but its scales stay fp32
// (a few per block of packed codes).
// BF16-LABEL: func.func @quant_linear
// BF16: %[[S:.*]] = eff.constant {value = dense<5.000000e-01> : tensor<4x1xf32>}
// BF16: eff.quant_linear int8 n_kblocks(%{{.*}}, %{{.*}}, %[[S]]) {{.*}} : (tensor<2x8xbf16>, tensor<4x1x8xui8>, tensor<4x1xf32>) -> tensor<2x4xbf16>
func.func @quant_linear(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = eff.constant {value = dense<130> : tensor<4x1x8xui8>} : tensor<4x1x8xui8>
  %s = eff.constant {value = dense<0.5> : tensor<4x1xf32>} : tensor<4x1xf32>
  %y = eff.quant_linear int8 n_kblocks(%x, %w, %s) {K = 8 : i64, N = 4 : i64, block_size = 8 : i64} : (tensor<2x8xf32>, tensor<4x1x8xui8>, tensor<4x1xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Dims an earlier refinement made static (eff-refine-shapes probe-dims) stay
// static: inference alone gives the runtime-shaped reshape ?x?x4.
// BF16-LABEL: func.func @keeps_refined_dims
// BF16: eff.reshape %{{.*}}, %arg1 : (tensor<2x?x4xbf16>, tensor<3xi64>) -> tensor<2x?x4xbf16>
// BF16: return %{{.*}} : tensor<2x?x4xf32>
func.func @keeps_refined_dims(%x: tensor<2x?x4xf32>, %shape: tensor<3xi64>) -> tensor<2x?x4xf32> {
  %r = eff.reshape %x, %shape : (tensor<2x?x4xf32>, tensor<3xi64>) -> tensor<2x?x4xf32>
  return %r : tensor<2x?x4xf32>
}
