// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of reduce_*, softmax, cum_sum and top_k.
// Inference errors are followed by the interface's "failed to infer" note.

func.func @reduce_axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<*xf32> {
  %axes = eff.constant {value = dense<[2]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_sum %x, %axes : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @reduce_duplicate_axes(%x: tensor<2x3xf32>) -> tensor<*xf32> {
  %axes = eff.constant {value = dense<[1, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{axis 1 appears more than once in axes}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_mean %x, %axes : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @reduce_scalar_axis(%x: tensor<f32>) -> tensor<*xf32> {
  %axes = eff.constant {value = dense<[0]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{axis 0 is out of range for rank 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_max %x, %axes : (tensor<f32>, tensor<1xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @reduce_axes_not_1d(%x: tensor<2x3xf32>, %axes: tensor<1x1xi64>) -> tensor<*xf32> {
  // expected-error @+2 {{axes must be 1-D, got rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_sum %x, %axes : (tensor<2x3xf32>, tensor<1x1xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @reduce_too_many_unknown_axes(%x: tensor<2x3xf32>, %axes: tensor<3xi64>) -> tensor<*xf32> {
  // expected-error @+2 {{axes has 3 entries but the input has rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_sum %x, %axes {keepdims = 0 : i64} : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @reduce_keepdims_not_bool(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  // expected-error @+1 {{keepdims must be 0 or 1, got 2}}
  %0 = eff.reduce_sum %x {keepdims = 2 : i64} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

func.func @reduce_noop_not_bool(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  // expected-error @+1 {{noop_with_empty_axes must be 0 or 1, got 3}}
  %0 = eff.reduce_sum %x {noop_with_empty_axes = 3 : i64} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

func.func @reduce_wrong_result_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %axes = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{inferred type(s) 'tensor<2x1xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reduce_sum %x, %axes : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_sum_bool(%x: tensor<2x3xi1>) -> tensor<1x1xi1> {
  // expected-error @+1 {{operand #0 must be tensor of}}
  %0 = eff.reduce_sum %x : (tensor<2x3xi1>) -> tensor<1x1xi1>
  return %0 : tensor<1x1xi1>
}

// -----

func.func @softmax_axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{axis -3 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.softmax %x {axis = -3 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @softmax_int(%x: tensor<2x3xi32>) -> tensor<2x3xi32> {
  // expected-error @+1 {{operand #0 must be tensor of}}
  %0 = eff.softmax %x : (tensor<2x3xi32>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

func.func @cum_sum_axis_not_scalar(%x: tensor<2x3xf32>, %axis: tensor<2xi64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis must be a scalar, got shape [2]}}
  %0 = eff.cum_sum %x, %axis : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @cum_sum_axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %axis = eff.constant {value = dense<2> : tensor<i64>} : tensor<i64>
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = eff.cum_sum %x, %axis : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @cum_sum_exclusive_not_bool(%x: tensor<2x3xf32>, %axis: tensor<i64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{exclusive must be 0 or 1, got 2}}
  %0 = eff.cum_sum %x, %axis {exclusive = 2 : i64} : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @cum_sum_reverse_not_bool(%x: tensor<2x3xf32>, %axis: tensor<i64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{reverse must be 0 or 1, got -1}}
  %0 = eff.cum_sum %x, %axis {reverse = -1 : i64} : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @top_k_k_not_one_element(%x: tensor<3x10xf32>, %k: tensor<2xi64>) -> (tensor<*xf32>, tensor<*xi64>) {
  // expected-error @+2 {{K must be a 1-element tensor, got shape [2]}}
  // expected-error @+1 {{failed to infer returned types}}
  %v, %i = eff.top_k %x, %k : (tensor<3x10xf32>, tensor<2xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  return %v, %i : tensor<*xf32>, tensor<*xi64>
}

// -----

func.func @top_k_negative_k(%x: tensor<3x10xf32>) -> (tensor<*xf32>, tensor<*xi64>) {
  %k = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{K must be >= 0, got -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %v, %i = eff.top_k %x, %k : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  return %v, %i : tensor<*xf32>, tensor<*xi64>
}

// -----

func.func @top_k_k_exceeds_dim(%x: tensor<3x10xf32>) -> (tensor<*xf32>, tensor<*xi64>) {
  %k = eff.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{K 4 exceeds dim 0 of size 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %v, %i = eff.top_k %x, %k {axis = 0 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  return %v, %i : tensor<*xf32>, tensor<*xi64>
}

// -----

func.func @top_k_axis_out_of_range(%x: tensor<3x10xf32>, %k: tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %v, %i = eff.top_k %x, %k {axis = 2 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<*xf32>, tensor<*xi64>)
  return %v, %i : tensor<*xf32>, tensor<*xi64>
}

// -----

func.func @top_k_largest_not_bool(%x: tensor<3x10xf32>, %k: tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>) {
  // expected-error @+1 {{largest must be 0 or 1, got 2}}
  %v, %i = eff.top_k %x, %k {largest = 2 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>)
  return %v, %i : tensor<3x?xf32>, tensor<3x?xi64>
}

// -----

func.func @top_k_sorted_not_bool(%x: tensor<3x10xf32>, %k: tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>) {
  // expected-error @+1 {{sorted must be 0 or 1, got 5}}
  %v, %i = eff.top_k %x, %k {sorted = 5 : i64} : (tensor<3x10xf32>, tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>)
  return %v, %i : tensor<3x?xf32>, tensor<3x?xi64>
}
