// A matmul whose inner dims disagree: effc.compile raises the verifier's error.
func.func @main(%a: tensor<2x3xf32> {eff.name = "a"}, %b: tensor<4x5xf32> {eff.name = "b"})
    -> (tensor<2x5xf32> {eff.name = "y"}) {
  %0 = eff.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}
