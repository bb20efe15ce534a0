// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of scatter_nd, scatter_elements and tile.

func.func @scatter_nd_reduction(%x: tensor<4xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{reduction must be none, add, mul, max or min, got 'sum'}}
  %0 = eff.scatter_nd %x, %i, %u {reduction = "sum"} : (tensor<4xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_nd_tuple_too_long(%x: tensor<4xf32>, %i: tensor<2x2xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{indices last dim 2 must be in [1, 1] (data rank)}}
  %0 = eff.scatter_nd %x, %i, %u : (tensor<4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_nd_updates_shape(%x: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error @+1 {{updates have shape 2x4, expected indices.shape[:-1] + data.shape[1:] = 2x3}}
  %0 = eff.scatter_nd %x, %i, %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @scatter_nd_index_range(%x: tensor<4xf32>, %u: tensor<2xf32>) {
  %i = eff.constant {value = dense<[[0], [4]]> : tensor<2x1xi64>} : tensor<2x1xi64>
  // expected-error @+1 {{index 4 is out of range [-4, 4) for data dim 0}}
  %0 = eff.scatter_nd %x, %i, %u : (tensor<4xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_nd_indices_type(%x: tensor<4xf32>, %i: tensor<2x1xi32>, %u: tensor<2xf32>) {
  // expected-error @+1 {{operand #1 must be tensor of 64-bit signless integer values}}
  %0 = eff.scatter_nd %x, %i, %u : (tensor<4xf32>, tensor<2x1xi32>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_updates_type(%x: tensor<4xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf16>) {
  // expected-error @+2 {{scatter updates have element type 'f16', data has 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.scatter_nd %x, %i, %u : (tensor<4xf32>, tensor<2x1xi64>, tensor<2xf16>) -> tensor<4xf32>
  return
}

// -----

func.func @scatter_elements_rank(%x: tensor<4x3xf32>, %i: tensor<2xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{indices rank 1 differs from data rank 2}}
  %0 = eff.scatter_elements %x, %i, %u : (tensor<4x3xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @scatter_elements_updates_shape(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x2xf32>) {
  // expected-error @+1 {{updates have shape 2x2, indices have 2x3}}
  %0 = eff.scatter_elements %x, %i, %u : (tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x2xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @scatter_elements_axis(%x: tensor<4x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = eff.scatter_elements %x, %i, %u {axis = 2 : i64} : (tensor<4x3xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @scatter_elements_off_axis(%x: tensor<4x3xf32>, %i: tensor<2x5xi64>, %u: tensor<2x5xf32>) {
  // expected-error @+1 {{indices dim 1 has size 5, larger than the data's 3}}
  %0 = eff.scatter_elements %x, %i, %u : (tensor<4x3xf32>, tensor<2x5xi64>, tensor<2x5xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @scatter_elements_reduction(%x: tensor<4xf32>, %i: tensor<2xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{reduction must be none, add, mul, max or min, got 'mean'}}
  %0 = eff.scatter_elements %x, %i, %u {reduction = "mean"} : (tensor<4xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @tile_repeats_length(%x: tensor<4x3xf32>, %r: tensor<3xi64>) {
  // expected-error @+2 {{tile repeats has 3 entries, expected 2 (the input rank)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.tile %x, %r : (tensor<4x3xf32>, tensor<3xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @tile_negative(%x: tensor<4x3xf32>) {
  %r = eff.constant {value = dense<[1, -2]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{tile repeats has negative entry -2 for dim 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.tile %x, %r : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @tile_repeats_rank(%x: tensor<4x3xf32>, %r: tensor<1x2xi64>) {
  // expected-error @+2 {{repeats must be 1-D, got rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.tile %x, %r : (tensor<4x3xf32>, tensor<1x2xi64>) -> tensor<*xf32>
  return
}
