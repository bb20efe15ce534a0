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
