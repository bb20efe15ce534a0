// Index-mapping producers (eff.transpose, eff.slice with constant
// starts/ends/axes/steps on static dims, eff.concat) join an elementwise
// kernel: it reads its inputs through their index maps. A producer read
// outside the kernel stays (it is not recomputed).
// RUN: effc-opt %s --eff-fuse-elementwise -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-fuse-elementwise=remarks=true -split-input-file -verify-diagnostics -o /dev/null
// RUN: effc-opt %s --eff-fuse-elementwise=max-ops=3 -split-input-file | FileCheck %s --check-prefix=MAX3

// HF's rotate_half RoPE after the head transpose:
// q * cos + cat(-q[..., 4:], q[..., :4]) * sin is one kernel over the
// matmul's [b, s, h, d] output (transpose, slices, neg, concat, mul, mul, add).
// CHECK-LABEL: func.func @rope
// CHECK: %[[MM:.*]] = eff.matmul
// CHECK: %[[R:.*]] = eff.reshape %[[MM]]
// CHECK-NOT: eff.transpose %[[R]]
// CHECK: %[[F:.*]] = eff.fusion elementwise(%[[R]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (tensor<1x3x2x8xf32>, {{.*}}) -> tensor<1x2x3x8xf32> {
// CHECK: eff.transpose
// CHECK: eff.slice
// CHECK: eff.slice
// CHECK: eff.neg
// CHECK: eff.concat
// CHECK: eff.mul
// CHECK: eff.mul
// CHECK: eff.add
// CHECK-NEXT: eff.yield
// CHECK-NOT: eff.fusion
// CHECK: return %[[F]]
// MAX3-LABEL: func.func @rope
// MAX3-COUNT-3: eff.fusion
func.func @rope(%x: tensor<1x3x16xf32>, %w: tensor<16x16xf32>, %cos: tensor<1x1x3x8xf32>,
                %sin: tensor<1x1x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %shape = eff.constant {value = dense<[1, 3, 2, 8]> : tensor<4xi64>} : tensor<4xi64>
  %c0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %c4 = eff.constant {value = dense<4> : tensor<1xi64>} : tensor<1xi64>
  %cmax = eff.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %axis = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %one = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %mm = eff.matmul %x, %w : (tensor<1x3x16xf32>, tensor<16x16xf32>) -> tensor<1x3x16xf32>
  %r = eff.reshape %mm, %shape : (tensor<1x3x16xf32>, tensor<4xi64>) -> tensor<1x3x2x8xf32>
  %q = eff.transpose %r {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x8xf32>) -> tensor<1x2x3x8xf32>
  %lo = eff.slice %q, %c0, %c4 axes %axis steps %one : (tensor<1x2x3x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x3x4xf32>
  %hi = eff.slice %q, %c4, %cmax axes %axis steps %one : (tensor<1x2x3x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<1x2x3x4xf32>
  %n = eff.neg %hi : (tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32>
  %rot = eff.concat %n, %lo {axis = -1 : i64} : (tensor<1x2x3x4xf32>, tensor<1x2x3x4xf32>) -> tensor<1x2x3x8xf32>
  %a = eff.mul %q, %cos : (tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x2x3x8xf32>
  %b = eff.mul %rot, %sin : (tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x2x3x8xf32>
  // expected-remark @+1 {{fused 8 ops into one kernel that reads its inputs through 4 index-mapping ops ('eff.transpose', 'eff.slice', 'eff.slice', 'eff.concat')}}
  %y = eff.add %a, %b : (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32>
  return %y : tensor<1x2x3x8xf32>
}

// -----

// A transposed input: the transpose is read through its permutation by the
// cast's kernel, never stored.
// CHECK-LABEL: func.func @transposed_input
// CHECK: %[[F:.*]] = eff.fusion elementwise(%arg0, %arg1) : (tensor<4x2x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf16> {
// CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<4x2x8xf32>, %[[Y:.*]]: tensor<2x4x8xf32>):
// CHECK-NEXT: %[[T:.*]] = eff.transpose %[[X]] {perm = array<i64: 1, 0, 2>}
// CHECK-NEXT: %[[A:.*]] = eff.add %[[T]], %[[Y]]
// CHECK-NEXT: %[[C:.*]] = eff.cast %[[A]]
// CHECK-NEXT: eff.yield %[[C]]
func.func @transposed_input(%x: tensor<4x2x8xf32>, %y: tensor<2x4x8xf32>) -> tensor<2x4x8xf16> {
  %t = eff.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<4x2x8xf32>) -> tensor<2x4x8xf32>
  %a = eff.add %t, %y : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  // expected-remark @+1 {{fused 3 ops into one kernel that reads its inputs through 1 index-mapping ops ('eff.transpose')}}
  %c = eff.cast %a {to = 10 : i64} : (tensor<2x4x8xf32>) -> tensor<2x4x8xf16>
  return %c : tensor<2x4x8xf16>
}

// -----

// Negative: a transpose that is also returned stays a kernel of its own (its
// result must reach memory; it is not recomputed in the consumer), and a
// slice of a dynamic dim does not fuse.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: eff.fusion
// CHECK: %[[T:.*]] = eff.transpose %arg0
// CHECK-NEXT: eff.exp %[[T]]
// CHECK-NEXT: %[[S:.*]] = eff.slice %arg1
// CHECK-NEXT: eff.neg %[[S]]
func.func @kept(%x: tensor<4x8xf32>, %d: tensor<?x8xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<?x8xf32>) {
  %c0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %c2 = eff.constant {value = dense<2> : tensor<1xi64>} : tensor<1xi64>
  %axis = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  // expected-remark @+1 {{not fused: its result is also read outside the consumer's kernel (a producer with other users is kept, not recomputed)}}
  %t = eff.transpose %x {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  // expected-remark @+1 {{not fused: its producer 'eff.transpose' has other users}}
  %e = eff.exp %t : (tensor<8x4xf32>) -> tensor<8x4xf32>
  %s = eff.slice %d, %c0, %c2 axes %axis : (tensor<?x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x8xf32>
  // expected-remark @+1 {{not fused: no elementwise or index-mapping op produces its operands}}
  %n = eff.neg %s : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %t, %e, %n : tensor<8x4xf32>, tensor<8x4xf32>, tensor<?x8xf32>
}
