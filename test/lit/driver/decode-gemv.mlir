// effc --decode-gemv=NAME picks the kernel of decode-sized runs (at most 16
// rows) of GEMMs over runtime rows: rows64 reads B [K, N] 128 bytes a row
// (tcg_decode_gemv_rows, 64 columns an item); a weight stored [N, K] (the
// misaligned 64x77 one, by eff-k-major-weights on sm_90a) keeps the default
// (v1: its loads already run along k). An unknown name is an error that
// lists the variants.
// The default (wide) takes rows only where N gives 128+ columns an item
// (the 32768-wide LM-head-like GEMM: 256), else v1.
// RUN: effc %s --arch=sm_90a --emit=cuda | FileCheck %s --check-prefix=DEFAULT
// DEFAULT: C[1][64][256] = A * B, K = 64
// DEFAULT: tcg_decode_gemv<effc_wgmma_cfg_k0_matmul>(
// DEFAULT: C[1][64][77] = A * B^T, K = 64
// DEFAULT: tcg_decode_gemv<effc_wgmma_cfg_k1_matmul>(
// DEFAULT: C[1][64][32768] = A * B, K = 64
// DEFAULT: tcg_decode_gemv_rows<effc_wgmma_cfg_k2_matmul, 256>(
// RUN: effc %s --arch=sm_90a --decode-gemv=rows64 --emit=cuda | FileCheck %s --check-prefix=ROWS
// ROWS: C[1][64][256] = A * B, K = 64
// ROWS: tcg_decode_gemv_rows<effc_wgmma_cfg_k0_matmul, 64>(
// ROWS: C[1][64][77] = A * B^T, K = 64
// ROWS: tcg_decode_gemv<effc_wgmma_cfg_k1_matmul>(
// ROWS: tcg_decode_gemv_rows<effc_wgmma_cfg_k2_matmul, 64>(
// RUN: effc %s --arch=sm_80 --decode-gemv=v1 --emit=cuda | FileCheck %s --check-prefix=V1
// V1-COUNT-3: tcg_decode_gemv<{{[a-z0-9_]+}}>(
// RUN: not effc %s --decode-gemv=rows48 --emit=cuda 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: effc: error: --decode-gemv must be one of v1, rows, rows16, rows32, rows64, rows128, rows256, wide, got 'rows48'

module {
  func.func @main(%x: tensor<?x64xbf16> {eff.dim_params = ["rows"], eff.name = "x"})
      -> (tensor<?x256xbf16> {eff.name = "y"}, tensor<?x77xbf16> {eff.name = "z"},
          tensor<?x32768xbf16> {eff.name = "u"})
      attributes {eff.dims = {rows = array<i64: 1, 64>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<64x256xbf16>} : tensor<64x256xbf16>
    %v = eff.constant {value = dense<2.500000e-01> : tensor<64x77xbf16>} : tensor<64x77xbf16>
    %h = eff.constant {value = dense<1.250000e-01> : tensor<64x32768xbf16>} : tensor<64x32768xbf16>
    %y = eff.matmul %x, %w : (tensor<?x64xbf16>, tensor<64x256xbf16>) -> tensor<?x256xbf16>
    %z = eff.matmul %x, %v : (tensor<?x64xbf16>, tensor<64x77xbf16>) -> tensor<?x77xbf16>
    %u = eff.matmul %x, %h : (tensor<?x64xbf16>, tensor<64x32768xbf16>) -> tensor<?x32768xbf16>
    return %y, %z, %u : tensor<?x256xbf16>, tensor<?x77xbf16>, tensor<?x32768xbf16>
  }
}
