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

// -----

// RMSNorm as torch.onnx.export decomposes it becomes eff.rms_norm: its
// kernels keep the mean of squares in fp32 (HF's LlamaRMSNorm computes it
// in fp32) instead of rounding x^2, the mean, +eps, sqrt and 1/sqrt to bf16
// one by one; the weight is converted like every weight.
// BF16-LABEL: func.func @rms_norm
// BF16-DAG: %[[W:.*]] = eff.constant {value = dense<{{.*}}> : tensor<4xbf16>}
// BF16-DAG: %[[XC:.*]] = eff.cast %{{.*}} {to = 16 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xbf16>
// BF16: %[[N:.*]] = eff.rms_norm %[[XC]], %[[W]] {epsilon = 9.99999997E-7 : f32} : (tensor<2x3x4xbf16>, tensor<4xbf16>) -> tensor<2x3x4xbf16>
// BF16: eff.matmul %[[N]]
// BF16-NOT: eff.pow
// FP16-LABEL: func.func @rms_norm
// FP16: eff.rms_norm {{.*}} -> tensor<2x3x4xf16>
// FP32-LABEL: func.func @rms_norm
// FP32: eff.pow
// FP32-NOT: eff.rms_norm
func.func @rms_norm(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %two = eff.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %axes = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %eps = eff.constant {value = dense<1.0e-6> : tensor<f32>} : tensor<f32>
  %w = eff.constant {value = dense<[1.0, 2.0, 0.5, 0.25]> : tensor<4xf32>} : tensor<4xf32>
  %wo = eff.constant {value = dense<0.5> : tensor<4x2xf32>} : tensor<4x2xf32>
  %sq = eff.pow %x, %two : (tensor<2x3x4xf32>, tensor<f32>) -> tensor<2x3x4xf32>
  %m = eff.reduce_mean %sq, %axes : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<2x3x1xf32>
  %a = eff.add %m, %eps : (tensor<2x3x1xf32>, tensor<f32>) -> tensor<2x3x1xf32>
  %s = eff.sqrt %a : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %r = eff.reciprocal %s : (tensor<2x3x1xf32>) -> tensor<2x3x1xf32>
  %n = eff.mul %x, %r : (tensor<2x3x4xf32>, tensor<2x3x1xf32>) -> tensor<2x3x4xf32>
  %y = eff.mul %w, %n : (tensor<4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %o = eff.matmul %y, %wo : (tensor<2x3x4xf32>, tensor<4x2xf32>) -> tensor<2x3x2xf32>
  return %o : tensor<2x3x2xf32>
}

// -----

// x / sqrt(mean(x * x) + eps) without a weight: eff.rms_norm with a scale of ones.
// BF16-LABEL: func.func @rms_norm_div
// BF16: %[[ONES:.*]] = eff.constant {value = dense<1.000000e+00> : tensor<4xbf16>}
// BF16: eff.rms_norm %{{.*}}, %[[ONES]] : (tensor<3x4xbf16>, tensor<4xbf16>) -> tensor<3x4xbf16>
// BF16-NOT: eff.div
func.func @rms_norm_div(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %axes = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %eps = eff.constant {value = dense<1.0e-5> : tensor<1xf32>} : tensor<1xf32>
  %sq = eff.mul %x, %x : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %m = eff.reduce_mean %sq, %axes : (tensor<3x4xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  %a = eff.add %eps, %m : (tensor<1xf32>, tensor<3x1xf32>) -> tensor<3x1xf32>
  %s = eff.sqrt %a : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %y = eff.div %x, %s : (tensor<3x4xf32>, tensor<3x1xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// A statistic that something else reads too is left as it is (op by op).
// BF16-LABEL: func.func @rms_norm_shared
// BF16-NOT: eff.rms_norm
// BF16: eff.pow {{.*}} -> tensor<3x4xbf16>
func.func @rms_norm_shared(%x: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x1xf32>) {
  %two = eff.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %axes = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %eps = eff.constant {value = dense<1.0e-6> : tensor<f32>} : tensor<f32>
  %sq = eff.pow %x, %two : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  %m = eff.reduce_mean %sq, %axes : (tensor<3x4xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  %a = eff.add %m, %eps : (tensor<3x1xf32>, tensor<f32>) -> tensor<3x1xf32>
  %s = eff.sqrt %a : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %r = eff.reciprocal %s : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %n = eff.mul %x, %r : (tensor<3x4xf32>, tensor<3x1xf32>) -> tensor<3x4xf32>
  return %n, %m : tensor<3x4xf32>, tensor<3x1xf32>
}

// -----

// Rotary tables stay fp32 from the integer positions to cos and sin (HF
// computes them in fp32): bf16 would round the positions past 256 and the
// angle (position * inv_freq) to 8 bits. cos and sin are cast down where
// the bf16 computation reads them.
// BF16-LABEL: func.func @rope_tables
// BF16-DAG: %[[F:.*]] = eff.constant {value = dense<[1.000000e+00, 1.000000e-01]> : tensor<2xf32>}
// BF16: %[[P:.*]] = eff.cast %{{.*}} {to = 1 : i64} : (tensor<5x1xi64>) -> tensor<5x1xf32>
// BF16: %[[A:.*]] = eff.mul %[[P]], %[[F]] : (tensor<5x1xf32>, tensor<2xf32>) -> tensor<5x2xf32>
// BF16: %[[C:.*]] = eff.concat %[[A]], %[[A]] {axis = -1 : i64} : (tensor<5x2xf32>, tensor<5x2xf32>) -> tensor<5x4xf32>
// BF16: %[[COS:.*]] = eff.cos %[[C]] : (tensor<5x4xf32>) -> tensor<5x4xf32>
// BF16: %[[COS16:.*]] = eff.cast %[[COS]] {to = 16 : i64} : (tensor<5x4xf32>) -> tensor<5x4xbf16>
// BF16: eff.mul %{{.*}}, %[[COS16]] : (tensor<5x4xbf16>, tensor<5x4xbf16>) -> tensor<5x4xbf16>
// BF16: %[[SIN:.*]] = eff.sin %[[C]] : (tensor<5x4xf32>) -> tensor<5x4xf32>
// BF16: eff.cast %[[SIN]] {to = 16 : i64} : (tensor<5x4xf32>) -> tensor<5x4xbf16>
func.func @rope_tables(%pos: tensor<5x1xi64>, %q: tensor<5x4xf32>) -> tensor<5x4xf32> {
  %f = eff.constant {value = dense<[1.0, 0.1]> : tensor<2xf32>} : tensor<2xf32>
  %p = eff.cast %pos {to = 1 : i64} : (tensor<5x1xi64>) -> tensor<5x1xf32>
  %a = eff.mul %p, %f : (tensor<5x1xf32>, tensor<2xf32>) -> tensor<5x2xf32>
  %c = eff.concat %a, %a {axis = -1 : i64} : (tensor<5x2xf32>, tensor<5x2xf32>) -> tensor<5x4xf32>
  %cos = eff.cos %c : (tensor<5x4xf32>) -> tensor<5x4xf32>
  %qc = eff.mul %q, %cos : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
  %sin = eff.sin %c : (tensor<5x4xf32>) -> tensor<5x4xf32>
  %qs = eff.mul %q, %sin : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
  %y = eff.add %qc, %qs : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<5x4xf32>
  return %y : tensor<5x4xf32>
}

// -----

// cos of an activation is computed in the target type like everything else.
// BF16-LABEL: func.func @cos_of_activation
// BF16: eff.cos %{{.*}} : (tensor<4xbf16>) -> tensor<4xbf16>
func.func @cos_of_activation(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = eff.cos %x : (tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}
