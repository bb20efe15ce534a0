// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of gather, gather_elements and gather_nd.

func.func @gather_scalar_data(%x: tensor<f32>, %i: tensor<i64>) {
  // expected-error @+2 {{gather data must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather %x, %i : (tensor<f32>, tensor<i64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_axis(%x: tensor<3x4xf32>, %i: tensor<i64>) {
  // expected-error @+2 {{axis -3 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather %x, %i {axis = -3 : i64} : (tensor<3x4xf32>, tensor<i64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_index_range(%x: tensor<3x4xf32>) {
  %i = eff.constant {value = dense<[0, -5]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+1 {{index -5 is out of range [-4, 4) for a dim of size 4}}
  %0 = eff.gather %x, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<3x2xf32>
  return
}

// -----

func.func @gather_index_type(%x: tensor<3x4xf32>, %i: tensor<2xf32>) {
  // expected-error @+1 {{operand #1 must be tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = eff.gather %x, %i : (tensor<3x4xf32>, tensor<2xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_elements_rank(%x: tensor<3x4xf32>, %i: tensor<4xi64>) {
  // expected-error @+2 {{indices rank 1 differs from data rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_elements %x, %i : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_elements_scalar(%x: tensor<f32>, %i: tensor<i64>) {
  // expected-error @+2 {{gather_elements data must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_elements %x, %i : (tensor<f32>, tensor<i64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_elements_axis(%x: tensor<3x4xf32>, %i: tensor<3x4xi64>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_elements %x, %i {axis = 2 : i64} : (tensor<3x4xf32>, tensor<3x4xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_elements_dim(%x: tensor<3x4xf32>, %i: tensor<3x5xi64>) {
  // expected-error @+1 {{indices dim 1 has size 5, larger than the data's 4}}
  %0 = eff.gather_elements %x, %i : (tensor<3x4xf32>, tensor<3x5xi64>) -> tensor<3x5xf32>
  return
}

// -----

func.func @gather_elements_index_range(%x: tensor<3x4xf32>) {
  %i = eff.constant {value = dense<[[3, 0, 0, 0]]> : tensor<1x4xi64>} : tensor<1x4xi64>
  // expected-error @+1 {{index 3 is out of range [-3, 3) for a dim of size 3}}
  %0 = eff.gather_elements %x, %i : (tensor<3x4xf32>, tensor<1x4xi64>) -> tensor<1x4xf32>
  return
}

// -----

func.func @gather_nd_scalar_indices(%x: tensor<3x4xf32>, %i: tensor<i64>) {
  // expected-error @+2 {{gather_nd indices must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i : (tensor<3x4xf32>, tensor<i64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_scalar_data(%x: tensor<f32>, %i: tensor<1xi64>) {
  // expected-error @+2 {{gather_nd data must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i : (tensor<f32>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_batch_dims_negative(%x: tensor<3x4xf32>, %i: tensor<3x1xi64>) {
  // expected-error @+2 {{batch_dims must be >= 0, got -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i {batch_dims = -1 : i64} : (tensor<3x4xf32>, tensor<3x1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_batch_dims_rank(%x: tensor<3x4xf32>, %i: tensor<3x1xi64>) {
  // expected-error @+2 {{batch_dims 2 must be less than the ranks of data (2) and indices (2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i {batch_dims = 2 : i64} : (tensor<3x4xf32>, tensor<3x1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_tuple_length(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>) {
  // expected-error @+2 {{indices last dim 2 must be in [1, 1] (data rank 2 minus batch_dims 1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i {batch_dims = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_batch_mismatch(%x: tensor<3x4xf32>, %i: tensor<2x1xi64>) {
  // expected-error @+2 {{batch dim 0 is 3 in data but 2 in indices}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.gather_nd %x, %i {batch_dims = 1 : i64} : (tensor<3x4xf32>, tensor<2x1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @gather_nd_index_range(%x: tensor<3x4xf32>) {
  %i = eff.constant {value = dense<[[2, 4]]> : tensor<1x2xi64>} : tensor<1x2xi64>
  // expected-error @+1 {{index 4 is out of range [-4, 4) for data dim 1}}
  %0 = eff.gather_nd %x, %i : (tensor<3x4xf32>, tensor<1x2xi64>) -> tensor<1xf32>
  return
}

// -----

func.func @one_hot_values(%i: tensor<3xi64>, %d: tensor<i64>, %v: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{values must be [off, on], got shape 3}}
  %0 = eff.one_hot %i, %d, %v : (tensor<3xi64>, tensor<i64>, tensor<3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @one_hot_depth(%i: tensor<3xi64>, %d: tensor<2xi64>, %v: tensor<2xf32>) -> tensor<3x?xf32> {
  // expected-error @+1 {{depth must hold one element, got shape 2}}
  %0 = eff.one_hot %i, %d, %v : (tensor<3xi64>, tensor<2xi64>, tensor<2xf32>) -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}
