// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of eff.all_reduce / eff.all_gather: the runtime
// moves bytes by these types and device lists alone, so every mismatch is
// an error naming the operand, the dim or the device.

func.func @reduce_types(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{partial 1 has type 'tensor<2x4xf32>', partial 0 'tensor<2x3xf32>'; every device's partial has the same type}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_int(%a: tensor<2x3xi64>, %b: tensor<2x3xi64>) -> tensor<2x3xi64> {
  // expected-error @+1 {{operand #0 must be variadic of tensor of}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, 1>} : (tensor<2x3xi64>, tensor<2x3xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

func.func @reduce_count(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{has 2 operands but 3 devices; each operand needs its device}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, 1, 2>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_twice(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{device 1 is given twice; one operand per device}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 1, 1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_negative(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{operand 1 is on device -1 (devices are >= 0)}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, -1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_beyond(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf32> attributes {eff.devices = 2 : i64} {
  // expected-error @+1 {{operand 1 is on device 2, but the function is planned for 2 devices (eff.devices)}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, 2>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_result(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x3xf16> {
  // expected-error @+1 {{result type 'tensor<2x3xf16>' differs from the partials' 'tensor<2x3xf32>'}}
  %0 = eff.all_reduce %a, %b {devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf16>
  return %0 : tensor<2x3xf16>
}

// -----

func.func @reduce_no_devices(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{requires attribute 'devices'}}
  %0 = eff.all_reduce %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @gather_axis(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{all_gather axis 2 is outside 0..1 (rank 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.all_gather %a, %b {axis = 2 : i64, devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @gather_dims(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{all_gather block 1 has dim 0 = 4, block 0 2 (blocks differ only along axis 1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.all_gather %a, %b {axis = 1 : i64, devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @gather_dtype(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) -> tensor<2x6xf32> {
  // expected-error @+2 {{all_gather block 1 has type 'tensor<2x3xf16>'; block 0 is 'tensor<2x3xf32>' (blocks agree in element type and rank)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.all_gather %a, %b {axis = 1 : i64, devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @gather_result(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{inferred type(s) 'tensor<2x6xf32>' are incompatible with return type(s) of operation 'tensor<2x5xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = eff.all_gather %a, %b {axis = 1 : i64, devices = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @gather_twice(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<2x6xf32> attributes {eff.devices = 4 : i64} {
  // expected-error @+1 {{device 3 is given twice; one operand per device}}
  %0 = eff.all_gather %a, %b {axis = 1 : i64, devices = array<i64: 3, 3>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}
