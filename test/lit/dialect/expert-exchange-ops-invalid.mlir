// RUN: effc-opt %s -split-input-file -verify-diagnostics
// One case per error path of eff.expert_dispatch / eff.expert_combine: the
// runtime sizes the exchange from these types and lists alone.

func.func @dispatch_count(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>) {
  // expected-error @+2 {{expert_dispatch has 5 inputs for 2 devices; it takes 3 per device (6)}}
  // expected-error @+1 {{failed to infer returned types}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_width(%x0: tensor<2x8xf32>, %x1: tensor<3x4xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+2 {{expert_dispatch x_1 is 'tensor<3x4xf32>'; x_0 is 'tensor<2x8xf32>' (every device's rows have x_0's width and type)}}
  // expected-error @+1 {{failed to infer returned types}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x4xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_rows(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<2x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+2 {{expert_dispatch experts_1 is 'tensor<2x2xi64>'; want [3, 2] (a row per token, k slots)}}
  // expected-error @+1 {{failed to infer returned types}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<2x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_weights(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf16>) {
  // expected-error @+2 {{expert_dispatch weights_1 is 'tensor<3x2xf16>'; want a static [3, k] tensor of 'f32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf16>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_dynamic(%x0: tensor<?x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+2 {{expert_dispatch x_0 is 'tensor<?x8xf32>'; want a static [T, H] tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<?x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_splits(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+1 {{expert_splits has 2 entries for 2 devices (one more: device i holds experts splits[i] .. splits[i + 1] - 1)}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_splits_start(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+1 {{expert_splits starts at 1, not 0}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 1, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_splits_order(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+1 {{expert_splits decreases at entry 2 (3 then 2)}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 2>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_device_twice(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) {
  // expected-error @+1 {{device 1 is given twice}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 1, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @dispatch_device_range(%x0: tensor<2x8xf32>, %x1: tensor<3x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>, %w0: tensor<2x2xf32>, %w1: tensor<3x2xf32>) attributes {eff.devices = 2 : i64} {
  // expected-error @+1 {{device 1 is 2, outside 0..1 (the function's eff.devices)}}
  %d:6 = eff.expert_dispatch %x0, %x1, %e0, %e1, %w0, %w1 {devices = array<i64: 0, 2>, expert_splits = array<i64: 0, 3, 5>} : (tensor<2x8xf32>, tensor<3x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>, tensor<2x2xf32>, tensor<3x2xf32>) -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x2xi64>, tensor<5x2xi64>, tensor<5x2xf32>, tensor<5x2xf32>)
  return
}

// -----

func.func @combine_count(%y0: tensor<5x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>) {
  // expected-error @+2 {{expert_combine has 3 inputs for 2 devices; it takes 2 per device (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %c:2 = eff.expert_combine %y0, %e0, %e1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xf32>, tensor<3x8xf32>)
  return
}

// -----

func.func @combine_capacity(%y0: tensor<5x8xf32>, %y1: tensor<4x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>) {
  // expected-error @+2 {{expert_combine y_1 is 'tensor<4x8xf32>'; want [5, 8] 'f32' (a row per token expert_dispatch can deliver: the sum of the T_i)}}
  // expected-error @+1 {{failed to infer returned types}}
  %c:2 = eff.expert_combine %y0, %y1, %e0, %e1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xf32>, tensor<4x8xf32>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xf32>, tensor<3x8xf32>)
  return
}

// -----

func.func @combine_int(%y0: tensor<5x8xi64>, %y1: tensor<5x8xi64>, %e0: tensor<2x2xi64>, %e1: tensor<3x2xi64>) {
  // expected-error @+1 {{result #0 must be variadic of tensor of}}
  %c:2 = eff.expert_combine %y0, %y1, %e0, %e1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xi64>, tensor<5x8xi64>, tensor<2x2xi64>, tensor<3x2xi64>) -> (tensor<2x8xi64>, tensor<3x8xi64>)
  return
}

// -----

func.func @combine_k(%y0: tensor<5x8xf32>, %y1: tensor<5x8xf32>, %e0: tensor<2x2xi64>, %e1: tensor<3x1xi64>) {
  // expected-error @+2 {{expert_combine experts_1 is 'tensor<3x1xi64>'; want [3, 2] (a row per token, k slots)}}
  // expected-error @+1 {{failed to infer returned types}}
  %c:2 = eff.expert_combine %y0, %y1, %e0, %e1 {devices = array<i64: 0, 1>, expert_splits = array<i64: 0, 3, 5>} : (tensor<5x8xf32>, tensor<5x8xf32>, tensor<2x2xi64>, tensor<3x1xi64>) -> (tensor<2x8xf32>, tensor<3x8xf32>)
  return
}
