// eff-kv-cache-inplace: a decoder-with-past layer's concat(past_key_values.i,
// new rows) along the sequence axis, returned as present.i and read by
// attention, becomes eff.kv_append into the cache named after the present;
// capacity = past's upper bound + input_ids' seq bound, or max-length.
// RUN: effc-opt %s --eff-kv-cache-inplace -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-kv-cache-inplace=max-length=64 -split-input-file | FileCheck %s --check-prefix=LEN

// CHECK-LABEL: func.func @layer
// CHECK-NOT: eff.concat
// CHECK: %[[K:.*]] = eff.kv_append %arg1, %arg4 {capacity = 287 : i64, state = "present.0.key"} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
// CHECK: %[[V:.*]] = eff.kv_append %arg2, %arg5 {capacity = 287 : i64, state = "present.0.value"}
// CHECK: %[[Y:.*]] = eff.attention %arg3, %[[K]], %[[V]]
// CHECK: return %[[Y]], %[[K]], %[[V]]
// LEN-LABEL: func.func @layer
// LEN: eff.kv_append %arg1, %arg4 {capacity = 64 : i64, state = "present.0.key"}
func.func @layer(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                 %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %pv: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"},
                 %q: tensor<1x2x?x4xf32>, %k: tensor<1x2x?x4xf32>, %v: tensor<1x2x?x4xf32>)
    -> (tensor<1x2x?x4xf32> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"},
        tensor<1x2x?x4xf32> {eff.name = "present.0.value"})
    attributes {eff.dims = {past = array<i64: 0, 255>, seq = array<i64: 1, 32>}} {
  %kk = eff.concat %pk, %k {axis = -2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %vv = eff.concat %pv, %v {axis = 2 : i64} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %kk, %vv {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  return %y, %kk, %vv : tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}

// -----

// GQA through repeat_kv (the reshape before attention), one new row of
// static length: capacity = 15 + 1.
// CHECK-LABEL: func.func @repeat_kv
// CHECK: eff.kv_append %arg0, %arg1 {capacity = 16 : i64, state = "present.3.key"} : (tensor<1x1x?x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x1x?x4xf32>
func.func @repeat_kv(%pk: tensor<1x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.3.key"},
                     %k: tensor<1x1x1x4xf32>, %q: tensor<1x2x1x4xf32>, %v: tensor<1x2x?x4xf32>,
                     %shape: tensor<4xi64>)
    -> (tensor<1x2x1x4xf32> {eff.name = "attn"}, tensor<1x1x?x4xf32> {eff.name = "present.3.key"})
    attributes {eff.dims = {past = array<i64: 0, 15>}} {
  %kk = eff.concat %pk, %k {axis = 2 : i64} : (tensor<1x1x?x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x1x?x4xf32>
  %rep = eff.reshape %kk, %shape : (tensor<1x1x?x4xf32>, tensor<4xi64>) -> tensor<1x2x?x4xf32>
  %y = eff.attention %q, %rep, %v {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  return %y, %kk : tensor<1x2x1x4xf32>, tensor<1x1x?x4xf32>
}
