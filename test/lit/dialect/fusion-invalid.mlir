// RUN: effc-opt %s -split-input-file -verify-diagnostics

func.func @bad_kind(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown fusion kind 'tiled'}}
  %r = eff.fusion "tiled"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %n = eff.neg %a : (tensor<4xf32>) -> tensor<4xf32>
    eff.yield %n : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @shape_mismatch(%x: tensor<4xf32>, %y: tensor<2x4xf32>) -> tensor<4xf32> {
  %r = eff.fusion "elementwise"(%x, %y) : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<2x4xf32>):
    // expected-error @+1 {{result shape 'tensor<2x4xf32>' differs from the elementwise fusion's shape}}
    %n = eff.add %a, %b : (tensor<4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %m = eff.neg %a : (tensor<4xf32>) -> tensor<4xf32>
    eff.yield %m : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @arg_types(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{body argument type}}
  %r = eff.fusion "elementwise"(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf16>):
    %n = eff.cast %a {to = 1 : i64} : (tensor<4xf16>) -> tensor<4xf32>
    eff.yield %n : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
