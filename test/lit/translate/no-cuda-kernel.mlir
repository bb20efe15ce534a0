// An op the CUDA emitters cannot generate (here eff.reduce_sum whose axes are
// a run-time input, which the host kernel reads but a CUDA kernel needs at
// compile time) is a compile error naming the op and its ONNX node, unless
// the artifact is host-only: then its manifest entry has no source and no
// launch, and every other kernel is still emitted.
// RUN: not effc-translate --eff-to-cuda %s 2>&1 | FileCheck %s --check-prefix=ERROR
// RUN: not effc %s -o %t.effc 2>&1 | FileCheck %s --check-prefix=EFFC
// RUN: effc-translate --host-only --eff-to-manifest %s | FileCheck %s --check-prefix=HOST
// RUN: effc-translate --host-only --eff-to-cuda %s | FileCheck %s --check-prefix=HOST-CUDA
// RUN: effc %s --host-only -o %t.effc
// RUN: %python -c "import os, numpy as np, onnx.numpy_helper as nh; d = '%t.data'; os.makedirs(d, exist_ok=True); x = np.arange(16, dtype=np.float32).reshape(2, 8) - 9; [open(f'{d}/{f}.pb', 'wb').write(nh.from_array(a, n).SerializeToString()) for f, n, a in [('input_0', 'x', x), ('input_1', 'axes', np.array([1])), ('output_0', 'y', np.maximum(x.sum(1, keepdims=True), 0))]]"
// RUN: effc-run %t.effc --backend=host --test-data %t.data | FileCheck %s --check-prefix=HOSTEXEC

// ERROR: error: no CUDA kernel for 'eff.reduce_sum': axes must be a compile-time constant; --host-only makes an artifact for the host backend only
// EFFC: m.onnx: error: no CUDA kernel for 'eff.reduce_sum': axes must be a compile-time constant; --host-only makes an artifact for the host backend only [node 'ReduceSum_0']
// EFFC-NOT: wrote

// The host backend runs the host-only artifact: relu(sum(x, axis 1)) of
// rows summing to -44 and 20, exactly.
// HOSTEXEC: output y: max_abs_err=0 max_rel_err=0 PASS

// HOST-LABEL: kernels {
// HOST-NEXT: op: "eff.reduce_sum"
// HOST: location:
// HOST-NOT: source:
// HOST-NOT: launch
// HOST: kernels {
// HOST-NEXT: op: "eff.relu"
// HOST: source: "k1_relu"
// HOST-NEXT: launch {

// HOST-CUDA-NOT: k0_reduce_sum
// HOST-CUDA: // eff.relu
// HOST-CUDA-NEXT: k1_relu(

func.func @main(%x: tensor<2x8xf32> {eff.name = "x"}, %axes: tensor<1xi64> {eff.name = "axes"})
    -> (tensor<2x1xf32> {eff.name = "y"}) {
  %0 = eff.reduce_sum %x, %axes : (tensor<2x8xf32>, tensor<1xi64>) -> tensor<2x1xf32> loc(#sum)
  %1 = eff.relu %0 : (tensor<2x1xf32>) -> tensor<2x1xf32> loc(#relu)
  return %1 : tensor<2x1xf32>
}
#model = loc("m.onnx":0:0)
#sum = loc("ReduceSum_0"(#model))
#relu = loc("Relu_1"(#model))
