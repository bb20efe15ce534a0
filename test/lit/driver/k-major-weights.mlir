// effc --arch=sm_90a (unless --gemm=mma) stores a bf16/fp16 constant weight
// [K, N] whose rows are not 16-byte aligned (N = 77 here, GPT-2's vocab
// 50257 in a model) as [N, K] (eff-k-major-weights: matmul transB = 1), so
// its GEMMs take the TMA wgmma kernel with B K-major instead of mma.sync;
// --remarks says why, per matmul. sm_80, sm_90 and --gemm=mma keep the
// weight [K, N] and the mma.sync kernel (the pass does not run: no remark).
// RUN: rm -rf %t && mkdir -p %t
// RUN: effc %s --arch=sm_90a --remarks --emit=mlir --print-weights > %t/sm90a.mlir 2> %t/sm90a.remarks
// RUN: FileCheck %s --check-prefix=REMARK --input-file=%t/sm90a.remarks
// REMARK-COUNT-2: k-major-weights.mlir:{{[0-9]+}}:{{[0-9]+}}: remark: eff-k-major-weights: weight [64, 77] (rows of 154 bytes, not a multiple of 16: no TMA tensor map or wgmma load can read it) stored [77, 64] (matmul transB = 1; rows of 128 bytes): B is read K-major by the sm_90a wgmma/TMA GEMM
// RUN: FileCheck %s --check-prefix=IR --input-file=%t/sm90a.mlir
// IR: eff.constant {{.*}} : tensor<77x64xbf16>
// IR: eff.matmul %{{.*}}, %{{.*}} {transB = 1 : i64} : (tensor<2x?x64xbf16>, tensor<77x64xbf16>) -> tensor<2x?x77xbf16>
// IR: eff.matmul %{{.*}}, %{{.*}} {transB = 1 : i64} : (tensor<128x64xbf16>, tensor<77x64xbf16>) -> tensor<128x77xbf16>
// RUN: effc-translate --eff-to-plan --arch=sm_90a --remarks %t/sm90a.mlir 2>&1 | FileCheck %s --check-prefix=PLAN
// PLAN: remark: eff.matmul 64x77x64: TMA wgmma kernel wg64x64_s8_tma over runtime rows
// PLAN: Matmul wgmma-tma M=64 N=77 K=64
// PLAN: Matmul wgmma-tma M=128 N=77 K=64
// RUN: effc %s --arch=sm_90a --emit=cuda | FileCheck %s --check-prefix=CUDA
// CUDA: C[1][128][77] = A * B^T, K = 64
// CUDA: TRANS_B = true
// CUDA: wgmma_tma_gemm<
// Without the wgmma kernels: no pass, no remark, mma.sync on [K, N].
// RUN: effc %s --arch=sm_80 --remarks --emit=mlir --print-weights > %t/sm80.mlir 2> %t/sm80.remarks
// RUN: effc %s --arch=sm_90 --remarks --emit=mlir --print-weights > %t/sm90.mlir 2> %t/sm90.remarks
// RUN: effc %s --arch=sm_90a --gemm=mma --remarks --emit=mlir --print-weights > %t/mma.mlir 2> %t/mma.remarks
// RUN: not grep -q "remark: eff-k-major-weights" %t/sm80.remarks %t/sm90.remarks %t/mma.remarks
// RUN: not grep -q transB %t/sm80.mlir %t/sm90.mlir %t/mma.mlir
// RUN: effc-translate --eff-to-plan --arch=sm_80 %t/sm80.mlir | FileCheck %s --check-prefix=MMA
// RUN: effc-translate --eff-to-plan --arch=sm_90a --gemm=mma %t/mma.mlir | FileCheck %s --check-prefix=MMA
// MMA: Matmul mma M=64 N=77 K=64
// MMA: Matmul mma M=128 N=77 K=64
// From ONNX with random weights (a [64, 77] initializer; GPT-2's head form
// MatMul(x, Transpose(W [50, 64]))): both stored [N, K], and the sm_90a
// artifact on the host backend gives exactly the outputs of a --host-only
// artifact (no pass, weights [K, N]): the data moved with the layout.
// RUN: %python %S/../Inputs/odd_n_matmul.py %t/odd.onnx
// RUN: effc %t/odd.onnx --dtype=bf16 --arch=sm_90a --remarks -o %t/odd-sm90a.effc 2> %t/odd.remarks
// RUN: FileCheck %s --check-prefix=ODD --input-file=%t/odd.remarks
// Both read x, so eff-merge-sibling-linears makes them one GEMM over a
// [64, 127] weight (misaligned too), which is what gets stored [N, K].
// ODD: remark: eff-merge-sibling-linears: merged eff.matmul (N = 77), eff.matmul (N = 50) into one GEMM {{.*}} [node 'proj']
// ODD: remark: eff-k-major-weights: weight [64, 127] {{.*}} stored [127, 64] {{.*}} [node 'proj']
// RUN: effc %t/odd.onnx --dtype=bf16 --host-only -o %t/odd-ref.effc
// RUN: mkdir -p %t/odd-sm90a %t/odd-ref
// RUN: effc-run %t/odd-sm90a.effc --backend=host --random-inputs 3 --output-dir %t/odd-sm90a
// RUN: effc-run %t/odd-ref.effc --backend=host --random-inputs 3 --output-dir %t/odd-ref
// RUN: %python %S/../Inputs/npy_equal.py %t/odd-sm90a %t/odd-ref | FileCheck %s --check-prefix=SAME
// SAME: 2 outputs equal

module {
  func.func @main(%x: tensor<2x?x64xbf16> {eff.dim_params = ["", "seq", ""], eff.name = "x"},
                  %s: tensor<128x64xbf16> {eff.name = "s"})
      -> (tensor<2x?x77xbf16> {eff.name = "y"}, tensor<128x77xbf16> {eff.name = "z"})
      attributes {eff.dims = {seq = array<i64: 1, 32>}} {
    %w = eff.constant {value = dense<5.000000e-01> : tensor<64x77xbf16>} : tensor<64x77xbf16>
    %y = eff.matmul %x, %w : (tensor<2x?x64xbf16>, tensor<64x77xbf16>) -> tensor<2x?x77xbf16>
    %z = eff.matmul %s, %w : (tensor<128x64xbf16>, tensor<64x77xbf16>) -> tensor<128x77xbf16>
    return %y, %z : tensor<2x?x77xbf16>, tensor<128x77xbf16>
  }
}
