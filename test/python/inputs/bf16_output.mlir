// A model whose output is bfloat16 (test_effc.py: numpy conversion of bf16).
func.func @main(%x: tensor<1x3xf32> {eff.name = "x"}) -> (tensor<1x3xbf16> {eff.name = "y"}) {
  %0 = eff.cast %x {to = 16 : i64} : (tensor<1x3xf32>) -> tensor<1x3xbf16>
  return %0 : tensor<1x3xbf16>
}
