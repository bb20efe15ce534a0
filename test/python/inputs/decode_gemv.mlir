// test_decode_gemv.py: one GEMM over runtime rows (1..64) with a [K, N]
// weight, so a bf16 compile gives it the decode path that
// effc.compile(decode_gemv=...) picks the kernel of.
module {
  func.func @main(%x: tensor<?x64xf32> {eff.dim_params = ["rows"], eff.name = "x"})
      -> (tensor<?x256xf32> {eff.name = "y"})
      attributes {eff.dims = {rows = array<i64: 1, 64>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<64x256xf32>} : tensor<64x256xf32>
    %y = eff.matmul %x, %w : (tensor<?x64xf32>, tensor<64x256xf32>) -> tensor<?x256xf32>
    return %y : tensor<?x256xf32>
  }
}
