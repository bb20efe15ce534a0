// An eff.fusion elementwise body with index-mapping ops (eff-fuse-elementwise
// puts a RoPE chain and the head transpose before it in one kernel): the
// indexed variant evaluates each value at the coordinates it is read at, so
// the [batch, seq, heads, d] input is read through the transpose, the slices
// and the concat (a branch per operand) and nothing else reaches memory. The
// manifest gives the host each body value's shape as expressions of the dims
// where it differs from the output (the slices and the neg: d/2 = 4).
// RUN: effc-translate --eff-to-plan %s | FileCheck %s --check-prefix=PLAN
// RUN: effc-translate --eff-to-cuda %s | FileCheck %s --check-prefix=CUDA
// RUN: effc-translate --eff-to-manifest %s | FileCheck %s --check-prefix=MANIFEST

// PLAN: k0_fusion Fusion indexed items=512 grid=(2,1,1) block=(256,1,1) smem=0 grid.x=ceil((16 * effc_dims[0])/256)<=2{{$}}

// CUDA-LABEL: k0_fusion(
// CUDA: for (int i = int(blockIdx.x) * 256 + threadIdx.x; i < int(16 * effc_dims[0]); i += int(gridDim.x) * 256) {
// CUDA-NEXT: int rest = i;
// CUDA-NEXT: const int q3 = rest % 8;
// CUDA-NEXT: rest /= 8;
// CUDA-NEXT: const int q2 = rest % (effc_dims[0]);
// CUDA-NEXT: rest /= (effc_dims[0]);
// CUDA-NEXT: const int q1 = rest % 2;
// CUDA-NEXT: rest /= 2;
// q [b, h, s, d] = x [1, s, h, d] transposed: x at (0, q2, q1, q3).
// CUDA-NEXT: const float ld0 = x0[q2 * 16 + q1 * 8 + q3];
// cos [1, 1, seq, d] broadcasts.
// CUDA-NEXT: const float ld1 = x1[q2 * 8 + q3];
// CUDA-NEXT: const float bv2 = (ld0 * ld1);  // eff.mul
// rotate_half: cat(-x[..., 4:], x[..., :4]).
// CUDA-NEXT: float cc3;
// CUDA-NEXT: if (q3 < 4) {
// CUDA-NEXT: const int ic4 = 4 + q3;
// CUDA-NEXT: const float ld5 = x0[q2 * 16 + q1 * 8 + ic4];
// CUDA-NEXT: const float bv6 = (-ld5);  // eff.neg
// CUDA-NEXT: cc3 = bv6;
// CUDA-NEXT: } else {
// CUDA-NEXT: const int ic7 = q3 - 4;
// CUDA-NEXT: const int ic8 = 0 + ic7;
// CUDA-NEXT: const float ld9 = x0[q2 * 16 + q1 * 8 + ic8];
// CUDA-NEXT: cc3 = ld9;
// CUDA-NEXT: }
// CUDA-NEXT: const float ld10 = x2[q2 * 8 + q3];
// CUDA-NEXT: const float bv11 = (cc3 * ld10);  // eff.mul
// CUDA-NEXT: const float bv12 = (bv2 + bv11);  // eff.add
// CUDA-NEXT: y0[i] = bv12;

// The first slice's result [1, 2, seq, 4]: one expression per dim.
// MANIFEST: op: "eff.slice"
// MANIFEST: result_shapes {
// MANIFEST-NEXT: values: 1
// MANIFEST-NEXT: values: 2
// MANIFEST-NEXT: values: 32
// MANIFEST-NEXT: values: 4
// MANIFEST-NEXT: }
// MANIFEST-NEXT: location:
// MANIFEST-NEXT: result_shape_exprs {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 1
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: result_shape_exprs {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 2
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: result_shape_exprs {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 1
// MANIFEST-NEXT: dims: 0
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }
// MANIFEST-NEXT: result_shape_exprs {
// MANIFEST-NEXT: terms {
// MANIFEST-NEXT: coeff: 4
// MANIFEST-NEXT: }
// MANIFEST-NEXT: }

func.func @main(%x: tensor<1x?x2x8xf32> {eff.dim_params = ["", "seq", "", ""], eff.name = "x"},
                %cos: tensor<1x1x?x8xf32> {eff.dim_params = ["", "", "seq", ""], eff.name = "cos"},
                %sin: tensor<1x1x?x8xf32> {eff.dim_params = ["", "", "seq", ""], eff.name = "sin"})
    -> (tensor<1x2x?x8xf32> {eff.name = "y"})
    attributes {eff.dims = {seq = array<i64: 1, 32>}} {
  %c0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %c4 = eff.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %cmax = eff.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %axis = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %one = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %y = eff.fusion elementwise(%x, %cos, %sin, %c0, %c4, %cmax, %axis, %one) : (tensor<1x?x2x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x?x8xf32> {
  ^bb0(%a: tensor<1x?x2x8xf32>, %c: tensor<1x1x?x8xf32>, %s: tensor<1x1x?x8xf32>, %z: tensor<1xi64>, %f: tensor<1xi64>, %m: tensor<1xi64>, %ax: tensor<1xi64>, %st: tensor<1xi64>):
    %q = eff.transpose %a {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x?x2x8xf32>) -> tensor<1x2x?x8xf32>
    %lo = eff.slice %q, %z, %f axes %ax steps %st : (tensor<1x2x?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x?x4xf32>
    %hi = eff.slice %q, %f, %m axes %ax steps %st : (tensor<1x2x?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x?x4xf32>
    %n = eff.neg %hi : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
    %rot = eff.concat %n, %lo {axis = -1 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x8xf32>
    %p = eff.mul %q, %c : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>) -> tensor<1x2x?x8xf32>
    %r = eff.mul %rot, %s : (tensor<1x2x?x8xf32>, tensor<1x1x?x8xf32>) -> tensor<1x2x?x8xf32>
    %o = eff.add %p, %r : (tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>) -> tensor<1x2x?x8xf32>
    eff.yield %o : tensor<1x2x?x8xf32>
  }
  return %y : tensor<1x2x?x8xf32>
}
