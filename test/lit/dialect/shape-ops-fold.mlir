// RUN: effc-opt %s -split-input-file -canonicalize | FileCheck %s
// Folds of the shape and gather ops: identities, compositions, shape
// subgraphs of real exports, and constants through the host kernels.

// CHECK-LABEL: func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[D:.*]]: tensor<?x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[D]], %[[X]], %[[D]]
func.func @identities(%x: tensor<2x3xf32>, %d: tensor<?x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<2x3xf32>, tensor<?x3xf32>) {
  %shape = eff.constant {value = dense<[2, 3]> : tensor<2xi64>} : tensor<2xi64>
  %one = eff.constant {value = dense<[1]> : tensor<1xi64>} : tensor<1xi64>
  %none = eff.constant {value = dense<> : tensor<0xi64>} : tensor<0xi64>
  %zero = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %max = eff.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %0 = eff.reshape %x, %shape : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  %1 = eff.expand %x, %one : (tensor<2x3xf32>, tensor<1xi64>) -> tensor<2x3xf32>
  %2 = eff.squeeze %x, %none : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<2x3xf32>
  %3 = eff.unsqueeze %x, %none : (tensor<2x3xf32>, tensor<0xi64>) -> tensor<2x3xf32>
  %4 = eff.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = eff.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = eff.slice %x, %zero, %max : (tensor<2x3xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<2x3xf32>
  // "To the end" covers a dynamic dim too.
  %7 = eff.slice %d, %zero, %max : (tensor<?x3xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x3xf32>
  %8 = eff.split %x {num_outputs = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %9 = eff.transpose %d {perm = array<i64: 0, 1>} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<2x3xf32>, tensor<?x3xf32>
}

// -----

// Not identities: a reversing slice and a reshape between dynamic types.
// CHECK-LABEL: func @not_identities
// CHECK: eff.slice
// CHECK: eff.reshape
func.func @not_identities(%x: tensor<3xf32>, %d: tensor<?x?xf32>, %s: tensor<2xi64>) -> (tensor<3xf32>, tensor<?x?xf32>) {
  %m1 = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %min = eff.constant {value = dense<-9223372036854775808> : tensor<1xi64>} : tensor<1xi64>
  %0 = eff.slice %x, %m1, %min axes %m1 steps %m1 : (tensor<3xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xf32>
  %1 = eff.reshape %d, %s : (tensor<?x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0, %1 : tensor<3xf32>, tensor<?x?xf32>
}

// -----

// CHECK-LABEL: func @reshape_of_reshape
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK: %[[S:.*]] = eff.constant {value = dense<[4, 6]> : tensor<2xi64>}
// CHECK-NEXT: %[[R:.*]] = eff.reshape %[[X]], %[[S]] : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<4x6xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %s1 = eff.constant {value = dense<[6, 4]> : tensor<2xi64>} : tensor<2xi64>
  %s2 = eff.constant {value = dense<[4, 6]> : tensor<2xi64>} : tensor<2xi64>
  %0 = eff.reshape %x, %s1 : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %f = eff.flatten %0 : (tensor<6x4xf32>) -> tensor<6x4xf32>
  %1 = eff.reshape %f, %s2 : (tensor<6x4xf32>, tensor<2xi64>) -> tensor<4x6xf32>
  return %1 : tensor<4x6xf32>
}

// -----

// A target with 0 copies dims of the intermediate value: kept.
// CHECK-LABEL: func @reshape_of_reshape_copy
// CHECK-COUNT-2: eff.reshape
func.func @reshape_of_reshape_copy(%x: tensor<?x12xf32>) -> tensor<?x12xf32> {
  %s1 = eff.constant {value = dense<[-1, 4, 3]> : tensor<3xi64>} : tensor<3xi64>
  %s2 = eff.constant {value = dense<[0, 12]> : tensor<2xi64>} : tensor<2xi64>
  %0 = eff.reshape %x, %s1 : (tensor<?x12xf32>, tensor<3xi64>) -> tensor<?x4x3xf32>
  %1 = eff.reshape %0, %s2 : (tensor<?x4x3xf32>, tensor<2xi64>) -> tensor<?x12xf32>
  return %1 : tensor<?x12xf32>
}

// -----

// CHECK-LABEL: func @transpose_of_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = eff.transpose %[[X]] {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
// CHECK-NEXT: return %[[X]], %[[T]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<3x2x4xf32>) {
  // Reversal twice is the identity.
  %0 = eff.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %1 = eff.transpose %0 : (tensor<4x3x2xf32>) -> tensor<2x3x4xf32>
  // [2,3,4] -perm 0,2,1-> [2,4,3] -perm 2,0,1-> [3,2,4]
  %2 = eff.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %3 = eff.transpose %2 {perm = array<i64: 2, 0, 1>} : (tensor<2x4x3xf32>) -> tensor<3x2x4xf32>
  return %1, %3 : tensor<2x3x4xf32>, tensor<3x2x4xf32>
}

// -----

// Shape -> Gather -> Unsqueeze -> Concat -> Reshape with a static input folds
// the whole shape computation to one constant.
// CHECK-LABEL: func @shape_subgraph_static
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x768xf32>)
// CHECK-NEXT: %[[S:.*]] = eff.constant {value = dense<[2, 16, 12, 64]> : tensor<4xi64>}
// CHECK-NEXT: eff.reshape %[[X]], %[[S]]
func.func @shape_subgraph_static(%x: tensor<2x16x768xf32>) -> tensor<2x16x12x64xf32> {
  %shape = eff.shape %x : (tensor<2x16x768xf32>) -> tensor<3xi64>
  %i0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %i1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %b = eff.gather %shape, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %s = eff.gather %shape, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = eff.unsqueeze %b, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %s1 = eff.unsqueeze %s, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %heads = eff.constant {value = dense<[12, 64]> : tensor<2xi64>} : tensor<2xi64>
  %target = eff.concat %b1, %s1, %heads {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = eff.reshape %x, %target : (tensor<2x16x768xf32>, tensor<4xi64>) -> tensor<2x16x12x64xf32>
  return %r : tensor<2x16x12x64xf32>
}

// -----

// With a dynamic batch dim, entries that come from static dims still fold.
// CHECK-LABEL: func @shape_subgraph_dynamic
// CHECK-DAG: eff.constant {value = dense<16> : tensor<1xi64>}
// CHECK-DAG: eff.constant {value = dense<[16, 768]> : tensor<2xi64>}
// CHECK-DAG: eff.constant {value = dense<768> : tensor<i64>}
// CHECK: eff.gather
// CHECK-NOT: eff.gather
// CHECK-NOT: eff.slice
func.func @shape_subgraph_dynamic(%x: tensor<?x16x768xf32>) -> (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>, tensor<i64>) {
  %shape = eff.shape %x : (tensor<?x16x768xf32>) -> tensor<3xi64>
  %i0 = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %i1 = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %ax = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %b = eff.gather %shape, %i0 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %s = eff.gather %shape, %i1 : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = eff.unsqueeze %b, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %s1 = eff.unsqueeze %s, %ax : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  // Slice of a Shape: dims 1.. are static.
  %start = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %end = eff.constant {value = dense<9223372036854775807> : tensor<1xi64>} : tensor<1xi64>
  %tail = eff.slice %shape, %start, %end : (tensor<3xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  // Gather of the sliced shape, and a reshape to a scalar of that.
  %last = eff.gather %tail, %i1 : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  return %b1, %s1, %tail, %last : tensor<1xi64>, tensor<1xi64>, tensor<2xi64>, tensor<i64>
}

// -----

// Constant operands fold through the host kernels.
// CHECK-LABEL: func @host_kernels
// CHECK-NOT: eff.reshape
// CHECK-NOT: eff.transpose
// CHECK-NOT: eff.concat
// CHECK-NOT: eff.slice
// CHECK-NOT: eff.split
// CHECK-NOT: eff.expand
// CHECK-NOT: eff.gather
// CHECK-NOT: eff.trilu
// CHECK-NOT: eff.flatten
// CHECK-NOT: eff.squeeze
// CHECK-DAG: %[[T:.*]] = eff.constant {value = dense<{{\[}}[1, 4], [2, 5], [3, 6]]> : tensor<3x2xi64>}
// CHECK-DAG: %[[R:.*]] = eff.constant {value = dense<{{\[}}[1, 2, 3, 4, 5, 6]]> : tensor<1x6xi64>}
// CHECK-DAG: %[[C:.*]] = eff.constant {value = dense<[1, 2, 3, 4, 5, 6, 7]> : tensor<7xi64>}
// CHECK-DAG: %[[S0:.*]] = eff.constant {value = dense<[1, 2]> : tensor<2xi64>}
// CHECK-DAG: %[[S1:.*]] = eff.constant {value = dense<[3, 4, 5, 6]> : tensor<4xi64>}
// CHECK-DAG: %[[SL:.*]] = eff.constant {value = dense<[6, 4, 2]> : tensor<3xi64>}
// CHECK-DAG: %[[E:.*]] = eff.constant {value = dense<{{.*}}7{{.*}}> : tensor<1x3xi64>}
// CHECK-DAG: %[[G:.*]] = eff.constant {value = dense<[4, 5, 6]> : tensor<3xi64>}
// CHECK-DAG: %[[GN:.*]] = eff.constant {value = dense<[3, 4]> : tensor<2xi64>}
// CHECK-DAG: %[[GE:.*]] = eff.constant {value = dense<[4, 2]> : tensor<2xi64>}
// CHECK-DAG: %[[TR:.*]] = eff.constant {value = dense<{{\[}}[0, 2, 3], [0, 0, 6]]> : tensor<2x3xi64>}
// CHECK-DAG: %[[G2:.*]] = eff.constant {value = dense<[6, 1]> : tensor<2xi64>}
// CHECK: return %[[T]], %[[R]], %[[C]], %[[S0]], %[[S1]], %[[SL]], %[[E]], %[[G]], %[[GN]], %[[GE]], %[[TR]], %[[G2]] :
func.func @host_kernels() -> (tensor<3x2xi64>, tensor<1x6xi64>, tensor<7xi64>, tensor<2xi64>, tensor<4xi64>, tensor<3xi64>, tensor<1x3xi64>, tensor<3xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2x3xi64>, tensor<2xi64>) {
  %m = eff.constant {value = dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>} : tensor<2x3xi64>
  %v = eff.constant {value = dense<[7]> : tensor<1xi64>} : tensor<1xi64>
  %s16 = eff.constant {value = dense<[1, 6]> : tensor<2xi64>} : tensor<2xi64>
  %i = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %0 = eff.transpose %m : (tensor<2x3xi64>) -> tensor<3x2xi64>
  %1 = eff.reshape %m, %s16 : (tensor<2x3xi64>, tensor<2xi64>) -> tensor<1x6xi64>
  %flat = eff.flatten %m {axis = 0 : i64} : (tensor<2x3xi64>) -> tensor<1x6xi64>
  %row = eff.squeeze %flat : (tensor<1x6xi64>) -> tensor<6xi64>
  %2 = eff.concat %row, %v {axis = 0 : i64} : (tensor<6xi64>, tensor<1xi64>) -> tensor<7xi64>
  %sizes = eff.constant {value = dense<[2, 4]> : tensor<2xi64>} : tensor<2xi64>
  %3:2 = eff.split %row, %sizes {num_outputs = 2 : i64} : (tensor<6xi64>, tensor<2xi64>) -> (tensor<2xi64>, tensor<4xi64>)
  // From the last element backwards by 2: 6, 4, 2.
  %st = eff.constant {value = dense<-1> : tensor<1xi64>} : tensor<1xi64>
  %en = eff.constant {value = dense<-9223372036854775808> : tensor<1xi64>} : tensor<1xi64>
  %a0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %step = eff.constant {value = dense<-2> : tensor<1xi64>} : tensor<1xi64>
  %4 = eff.slice %row, %st, %en axes %a0 steps %step : (tensor<6xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %shp = eff.constant {value = dense<[1, 3]> : tensor<2xi64>} : tensor<2xi64>
  %5 = eff.expand %v, %shp : (tensor<1xi64>, tensor<2xi64>) -> tensor<1x3xi64>
  %6 = eff.gather %m, %i : (tensor<2x3xi64>, tensor<i64>) -> tensor<3xi64>
  %idx = eff.constant {value = dense<[[2], [3]]> : tensor<2x1xi64>} : tensor<2x1xi64>
  %7 = eff.gather_nd %row, %idx : (tensor<6xi64>, tensor<2x1xi64>) -> tensor<2xi64>
  // out[0][j] = m[idx[0][j]][j]: m[1][0], m[0][1].
  %eidx = eff.constant {value = dense<[[1, 0]]> : tensor<1x2xi64>} : tensor<1x2xi64>
  %8 = eff.gather_elements %m, %eidx {axis = 0 : i64} : (tensor<2x3xi64>, tensor<1x2xi64>) -> tensor<1x2xi64>
  %two = eff.constant {value = dense<[2]> : tensor<1xi64>} : tensor<1xi64>
  %9 = eff.reshape %8, %two : (tensor<1x2xi64>, tensor<1xi64>) -> tensor<2xi64>
  // Upper triangle above the diagonal (k = 1).
  %10 = eff.trilu %m, %i : (tensor<2x3xi64>, tensor<i64>) -> tensor<2x3xi64>
  %rev = eff.constant {value = dense<[1, 0]> : tensor<2xi64>} : tensor<2xi64>
  %11 = eff.gather %s16, %rev : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0, %1, %2, %3#0, %3#1, %4, %5, %6, %7, %9, %10, %11 : tensor<3x2xi64>, tensor<1x6xi64>, tensor<7xi64>, tensor<2xi64>, tensor<4xi64>, tensor<3xi64>, tensor<1x3xi64>, tensor<3xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2x3xi64>, tensor<2xi64>
}
