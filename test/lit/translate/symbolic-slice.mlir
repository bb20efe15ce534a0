// eff.slice along a runtime extent (issue 14 stage S3): a start >= 0 going
// forward needs no clamping at run time (the start is within the extent, or
// the output the plan sized is empty), and the end only sizes the output, so
// it may be a runtime value (seq here). GPT-2/Llama exports slice positions
// this way ([:, 1:], [:, :1]); effc --kv-cache needs them on CUDA. A negative
// start would clamp against the run's extent: refused.
// RUN: split-file %s %t
// RUN: effc-translate --eff-to-plan %t/forward.mlir | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %t/forward.mlir | FileCheck %s --check-prefix=CUDA
// RUN: not effc-translate --eff-to-cuda %t/negative.mlir 2>&1 | FileCheck %s --check-prefix=NEG

// PLAN: k1_slice DataMovement grid-stride items=248 grid=(1,1,1) block=(256,1,1) smem=0{{$}}
// PLAN: k2_slice DataMovement grid-stride items=8 grid=(1,1,1) block=(256,1,1) smem=0{{$}}

// x[:, 1:] of [2, seq, 4]: [2, seq - 1, 4] from offset 4.
// CUDA-LABEL: k1_slice(
// CUDA: for (int i = int(blockIdx.x) * 256 + threadIdx.x; i < int(8 * effc_dims[0] - 8); i += int(gridDim.x) * 256) {
// CUDA: const int oc1 = ocr % (4 * effc_dims[0] - 4); ocr /= (4 * effc_dims[0] - 4);
// CUDA: const int o0 = oc0 * (4 * effc_dims[0]) + oc1;
// CUDA: y0[i] = x0[4 + o0];
// x[:, :1]: [2, 1, 4], rows seq apart.
// CUDA-LABEL: k2_slice(
// CUDA: const int o0 = oc0 * (4 * effc_dims[0]) + oc1;
// CUDA: y0[i] = x0[o0];

// NEG: no CUDA kernel for 'eff.slice': slicing a dim with a runtime extent from a negative start or backwards is not done yet (issue 14 stage S3)

//--- forward.mlir
module {
  func.func @main(%x: tensor<2x?x4xf32> {eff.dim_params = ["", "seq", ""], eff.name = "x"})
      -> (tensor<2x?x4xf32>, tensor<2x1x4xf32>)
      attributes {eff.dims = {seq = array<i64: 1, 32>}} {
    %one = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
    %zero = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
    %s = eff.shape %x {end = 2 : i64, start = 1 : i64} : (tensor<2x?x4xf32>) -> tensor<1xi64>
    %tail = eff.slice %x, %one, %s axes %one : (tensor<2x?x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x?x4xf32>
    %head = eff.slice %x, %zero, %one axes %one : (tensor<2x?x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x1x4xf32>
    return %tail, %head : tensor<2x?x4xf32>, tensor<2x1x4xf32>
  }
}

//--- negative.mlir
module {
  func.func @main(%x: tensor<2x?x4xf32> {eff.dim_params = ["", "seq", ""], eff.name = "x"})
      -> tensor<2x1x4xf32> attributes {eff.dims = {seq = array<i64: 1, 32>}} {
    %m1 = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
    %one = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
    %big = eff.constant {value = dense<100> : tensor<1xi64>} : tensor<1xi64>
    %last = eff.slice %x, %m1, %big axes %one : (tensor<2x?x4xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x1x4xf32>
    return %last : tensor<2x1x4xf32>
  }
}
