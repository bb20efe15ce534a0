// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of the shape ops (ShapeOps.td).

func.func @reshape_two_minus_one(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[-1, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{reshape target has 2 dims of -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_bad_dim(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[-2, 3]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{reshape target has invalid dim -2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_copy_beyond_rank(%x: tensor<6xf32>) {
  %s = eff.constant {value = dense<[-1, 0]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{reshape target copies dim 1 (0) but the input has rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<6xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_zero_and_minus_one(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[0, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{reshape target has both 0 and -1 with allowzero = 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s {allowzero = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_indivisible(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[4, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{cannot infer the -1 dim of the reshape target: 6 elements do not divide by 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[5, 5]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{cannot reshape 2x3 into 5x5: element counts differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_shape_rank(%x: tensor<2x3xf32>, %s: tensor<1x2xi64>) {
  // expected-error @+2 {{shape must be 1-D, got rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<1x2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_allowzero(%x: tensor<2x3xf32>, %s: tensor<2xi64>) {
  // expected-error @+1 {{allowzero must be 0 or 1, got 2}}
  %0 = eff.reshape %x, %s {allowzero = 2 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @reshape_declared_type(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[3, 2]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{inferred type(s) 'tensor<3x2xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return
}

// -----

func.func @expand_incompatible(%x: tensor<3x2xf32>) {
  %s = eff.constant {value = dense<[4, 3]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{operand shapes are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.expand %x, %s : (tensor<3x2xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @expand_negative(%x: tensor<3x1xf32>) {
  %s = eff.constant {value = dense<[-1, 3]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{expand shape has negative dim -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.expand %x, %s : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error @+2 {{concat needs at least one operand}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat {axis = 0 : i64} : () -> tensor<*xf32>
  return
}

// -----

func.func @concat_element_type(%a: tensor<2xf32>, %b: tensor<2xf16>) {
  // expected-error @+2 {{concat operand 1 has element type 'f16', expected 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf16>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2xf32>) {
  // expected-error @+2 {{concat operand 1 has rank 1, expected 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_scalar(%a: tensor<f32>) {
  // expected-error @+2 {{concat operand 0 is a scalar; operands need rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat %a {axis = 0 : i64} : (tensor<f32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+2 {{concat operand 1 has size 4 in dim 1, expected 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @flatten_axis(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 3 is out of range [-2, 2] for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.flatten %x {axis = 3 : i64} : (tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @slice_lengths(%x: tensor<4x4xf32>, %s: tensor<2xi64>, %e: tensor<1xi64>) {
  // expected-error @+2 {{ends has 1 entries, but starts/ends have 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.slice %x, %s, %e : (tensor<4x4xf32>, tensor<2xi64>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @slice_step_zero(%x: tensor<4x4xf32>) {
  %s = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %e = eff.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %st = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{slice step must not be 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.slice %x, %s, %e axes %s steps %st : (tensor<4x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @slice_axis_range(%x: tensor<4x4xf32>) {
  %s = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %a = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.slice %x, %s, %s axes %a : (tensor<4x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @slice_axis_repeated(%x: tensor<4x4xf32>) {
  %s = eff.constant {value = dense<[0, 0]> : tensor<2xi64>} : tensor<2xi64>
  %a = eff.constant {value = dense<[1, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{axis -1 is repeated}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.slice %x, %s, %s axes %a : (tensor<4x4xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @slice_scalar(%x: tensor<f32>, %s: tensor<1xi64>) {
  // expected-error @+2 {{slice data must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.slice %x, %s, %s : (tensor<f32>, tensor<1xi64>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @split_num_outputs(%x: tensor<4xf32>) {
  // expected-error @+1 {{num_outputs is 3 but the op has 2 results}}
  %0:2 = eff.split %x {num_outputs = 3 : i64} : (tensor<4xf32>) -> (tensor<*xf32>, tensor<*xf32>)
  return
}

// -----

func.func @split_sizes_count(%x: tensor<4xf32>) {
  %s = eff.constant {value = dense<[1, 1, 2]> : tensor<3xi64>} : tensor<3xi64>
  // expected-error @+2 {{split has 3 sizes but num_outputs is 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = eff.split %x, %s {num_outputs = 2 : i64} : (tensor<4xf32>, tensor<3xi64>) -> (tensor<*xf32>, tensor<*xf32>)
  return
}

// -----

func.func @split_sizes_sum(%x: tensor<4xf32>) {
  %s = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{split sizes sum to 3 but dim 0 has size 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = eff.split %x, %s {num_outputs = 2 : i64} : (tensor<4xf32>, tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>)
  return
}

// -----

func.func @split_negative(%x: tensor<4xf32>) {
  %s = eff.constant {value = dense<[5, -1]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{split has negative size -1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = eff.split %x, %s {num_outputs = 2 : i64} : (tensor<4xf32>, tensor<2xi64>) -> (tensor<*xf32>, tensor<*xf32>)
  return
}

// -----

func.func @split_uneven(%x: tensor<5xf32>) {
  // expected-error @+2 {{cannot split dim 0 of size 5 into 4 outputs}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:4 = eff.split %x {num_outputs = 4 : i64} : (tensor<5xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>)
  return
}

// -----

func.func @split_zero_outputs(%x: tensor<5xf32>) {
  // expected-error @+2 {{num_outputs must be >= 1, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  eff.split %x {num_outputs = 0 : i64} : (tensor<5xf32>) -> ()
  return
}

// -----

func.func @split_axis(%x: tensor<5xf32>) {
  // expected-error @+2 {{axis 1 is out of range for rank 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.split %x {axis = 1 : i64, num_outputs = 1 : i64} : (tensor<5xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @squeeze_not_one(%x: tensor<1x3xf32>) {
  %a = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{cannot squeeze dim 1 of size 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.squeeze %x, %a : (tensor<1x3xf32>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @squeeze_axis(%x: tensor<1x3xf32>) {
  %a = eff.constant {value = dense<[2]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.squeeze %x, %a : (tensor<1x3xf32>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @unsqueeze_repeated(%x: tensor<3xf32>) {
  %a = eff.constant {value = dense<[0, -3]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{axis -3 is repeated}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.unsqueeze %x, %a : (tensor<3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @unsqueeze_axis(%x: tensor<3xf32>) {
  %a = eff.constant {value = dense<[2]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.unsqueeze %x, %a : (tensor<3xf32>, tensor<1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @unsqueeze_axes_rank(%x: tensor<3xf32>, %a: tensor<1x1xi64>) {
  // expected-error @+2 {{axes must be 1-D, got rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.unsqueeze %x, %a : (tensor<3xf32>, tensor<1x1xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @transpose_not_perm(%x: tensor<*xf32>) {
  // expected-error @+1 {{perm [0x0] is not a permutation}}
  %0 = eff.transpose %x {perm = array<i64: 0, 0>} : (tensor<*xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @transpose_perm_size(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{perm has 3 entries but the input has rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @trilu_rank(%x: tensor<3xf32>) {
  // expected-error @+2 {{trilu input must have rank >= 2, got 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.trilu %x : (tensor<3xf32>) -> tensor<*xf32>
  return
}

// -----

func.func @trilu_k(%x: tensor<3x3xf32>, %k: tensor<2xi64>) {
  // expected-error @+1 {{k must be a scalar, got 'tensor<2xi64>'}}
  %0 = eff.trilu %x, %k : (tensor<3x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @trilu_upper(%x: tensor<3x3xf32>) {
  // expected-error @+1 {{upper must be 0 or 1, got 2}}
  %0 = eff.trilu %x {upper = 2 : i64} : (tensor<3x3xf32>) -> tensor<*xf32>
  return
}

// -----

// INT64_MIN is ShapedType::kDynamic's sentinel: a constant holding it is an
// invalid dim, not an unknown one.
func.func @reshape_int64_min(%x: tensor<2x3xf32>) {
  %s = eff.constant {value = dense<[-9223372036854775808, 3]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{reshape target has invalid dim -9223372036854775808}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @expand_int64_min(%x: tensor<3x1xf32>) {
  %s = eff.constant {value = dense<[3, -9223372036854775808]> : tensor<2xi64>} : tensor<2xi64>
  // expected-error @+2 {{expand shape has negative dim -9223372036854775808}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.expand %x, %s : (tensor<3x1xf32>, tensor<2xi64>) -> tensor<*xf32>
  return
}

// -----

func.func @constant_of_shape_int64_min() {
  %s = eff.constant {value = dense<[-9223372036854775808]> : tensor<1xi64>} : tensor<1xi64>
  // expected-error @+2 {{shape has a negative dim -9223372036854775808}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.constant_of_shape %s : (tensor<1xi64>) -> tensor<*xf32>
  return
}
