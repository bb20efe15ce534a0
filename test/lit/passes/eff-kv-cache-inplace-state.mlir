// eff-kv-cache-inplace state=true (effc --kv-state): the cache interface
// takes the compute dtype first. Under --dtype=bf16 a past input read only
// through one cast to bf16 (and eff.shape) becomes a bf16 input, a present
// returned through a cast to f32 is returned in bf16, and the concat of the
// bf16 past becomes eff.kv_append (a cache kept in bf16, no step casts it).
// Without state the casts stay and nothing is converted (the concat's first
// operand is no input). An input read by anything else keeps its type, and
// so does its present.
// RUN: effc-opt %s --eff-kv-cache-inplace=state=true -split-input-file | FileCheck %s
// RUN: effc-opt %s --eff-kv-cache-inplace -split-input-file | FileCheck %s --check-prefix=PLAIN

// CHECK-LABEL: func.func @layer(
// CHECK-SAME: %arg1: tensor<1x2x?x4xbf16> {{{.*}}eff.name = "past_key_values.0.key"}
// CHECK-SAME: -> (tensor<1x2x?x4xbf16> {eff.name = "attn"}, tensor<1x2x?x4xbf16> {eff.name = "present.0.key"})
// CHECK-NOT: eff.cast
// CHECK: eff.shape %arg1
// CHECK: %[[K:.*]] = eff.kv_append %arg1, %arg3 {capacity = 287 : i64, state = "present.0.key"} : (tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>)
// CHECK: return %{{.*}}, %[[K]] : tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>
// PLAIN-LABEL: func.func @layer(
// PLAIN-SAME: %arg1: tensor<1x2x?x4xf32>
// PLAIN: eff.cast %arg1
// PLAIN: eff.concat
// PLAIN-NOT: eff.kv_append
func.func @layer(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                 %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %q: tensor<1x2x?x4xbf16>, %k: tensor<1x2x?x4xbf16>)
    -> (tensor<1x2x?x4xbf16> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"})
    attributes {eff.dims = {past = array<i64: 0, 255>, seq = array<i64: 1, 32>}} {
  %n = eff.shape %pk {start = 2 : i64, end = 3 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1xi64>
  %pb = eff.cast %pk {to = 16 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xbf16>
  %kk = eff.concat %pb, %k {axis = 2 : i64} : (tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xbf16>
  %y = eff.attention %q, %kk, %kk {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xbf16>
  %out = eff.cast %kk {to = 1 : i64} : (tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xf32>
  return %y, %out : tensor<1x2x?x4xbf16>, tensor<1x2x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @read_elsewhere(
// CHECK-SAME: %arg1: tensor<1x2x?x4xf32>
// CHECK-SAME: tensor<1x2x?x4xf32> {eff.name = "present.0.key"}
// CHECK: eff.cast %arg1
// CHECK: eff.neg %arg1
func.func @read_elsewhere(%ids: tensor<1x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                 %pk: tensor<1x2x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                 %q: tensor<1x2x?x4xbf16>, %k: tensor<1x2x?x4xbf16>)
    -> (tensor<1x2x?x4xbf16> {eff.name = "attn"}, tensor<1x2x?x4xf32> {eff.name = "present.0.key"}, tensor<1x2x?x4xf32> {eff.name = "n"})
    attributes {eff.dims = {past = array<i64: 0, 255>, seq = array<i64: 1, 32>}} {
  %pb = eff.cast %pk {to = 16 : i64} : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xbf16>
  %neg = eff.neg %pk : (tensor<1x2x?x4xf32>) -> tensor<1x2x?x4xf32>
  %kk = eff.concat %pb, %k {axis = 2 : i64} : (tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xbf16>
  %y = eff.attention %q, %kk, %kk {causal, num_kv_heads = 2 : i64, scale = 5.000000e-01 : f32} : (tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>, tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xbf16>
  %out = eff.cast %kk {to = 1 : i64} : (tensor<1x2x?x4xbf16>) -> tensor<1x2x?x4xf32>
  return %y, %out, %neg : tensor<1x2x?x4xbf16>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>
}
