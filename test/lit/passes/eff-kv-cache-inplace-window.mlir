// eff-kv-cache-inplace on a model exported with past whose own mask has a
// sliding window over cache slots (q - j < 4 with q = past + i, HF's
// cache_position): exact for equal-length rows, but the unpaged KV-cache
// runtime right-pads rows of different lengths, so it warns
// (PagedKvMask.h warnSlotCountedWindows); the concats still become
// appends. A window over token positions (eff-kv-cache's,
// eff-kv-cache-window.mlir) gets no warning.
// RUN: effc-opt %s --eff-kv-cache-inplace -verify-diagnostics -o /dev/null

func.func @slot_window(%ids: tensor<2x?xi64> {eff.dim_params = ["", "seq"], eff.name = "input_ids"},
                       %am: tensor<2x?xi64> {eff.dim_params = ["", "total"], eff.name = "attention_mask"},
                       %pk: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.key"},
                       %pv: tensor<2x1x?x4xf32> {eff.dim_params = ["", "", "past", ""], eff.name = "past_key_values.0.value"})
    -> tensor<2x2x?x4xf32>
    attributes {eff.dims = {past = array<i64: 0, 15>, seq = array<i64: 1, 8>, total = array<i64: 1, 16>}} {
  %emb = eff.constant {value = dense<0.5> : tensor<16x4xf32>} : tensor<16x4xf32>
  %zero = eff.constant {value = dense<0> : tensor<i64>} : tensor<i64>
  %one = eff.constant {value = dense<1> : tensor<i64>} : tensor<i64>
  %w = eff.constant {value = dense<4> : tensor<i64>} : tensor<i64>
  %ax0 = eff.constant {value = dense<0> : tensor<1xi64>} : tensor<1xi64>
  %ax1 = eff.constant {value = dense<1> : tensor<1xi64>} : tensor<1xi64>
  %ax01 = eff.constant {value = dense<[0, 1]> : tensor<2xi64>} : tensor<2xi64>
  %ax12 = eff.constant {value = dense<[1, 2]> : tensor<2xi64>} : tensor<2xi64>
  %x = eff.gather %emb, %ids : (tensor<16x4xf32>, tensor<2x?xi64>) -> tensor<2x?x4xf32>
  %t1 = eff.shape %am {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %s1 = eff.shape %ids {end = 2 : i64, start = 1 : i64} : (tensor<2x?xi64>) -> tensor<1xi64>
  %t = eff.squeeze %t1 : (tensor<1xi64>) -> tensor<i64>
  %s = eff.squeeze %s1 : (tensor<1xi64>) -> tensor<i64>
  %p = eff.sub %t, %s : (tensor<i64>, tensor<i64>) -> tensor<i64>
  %qpos = eff.range %p, %t, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %kpos = eff.range %zero, %t, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %qi = eff.unsqueeze %qpos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %kj = eff.unsqueeze %kpos, %ax0 : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %le = eff.less_or_equal %kj, %qi : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %d = eff.sub %qi, %kj : (tensor<?x1xi64>, tensor<1x?xi64>) -> tensor<?x?xi64>
  %near = eff.less %d, %w : (tensor<?x?xi64>, tensor<i64>) -> tensor<?x?xi1>
  %both = eff.and %le, %near : (tensor<?x?xi1>, tensor<?x?xi1>) -> tensor<?x?xi1>
  %m4 = eff.unsqueeze %both, %ax01 : (tensor<?x?xi1>, tensor<2xi64>) -> tensor<1x1x?x?xi1>
  %amb = eff.cast %am {to = 9 : i64} : (tensor<2x?xi64>) -> tensor<2x?xi1>
  %pad = eff.unsqueeze %amb, %ax12 : (tensor<2x?xi1>, tensor<2xi64>) -> tensor<2x1x1x?xi1>
  %mask = eff.and %m4, %pad : (tensor<1x1x?x?xi1>, tensor<2x1x1x?xi1>) -> tensor<2x1x?x?xi1>
  %q = eff.unsqueeze %x, %ax1 : (tensor<2x?x4xf32>, tensor<1xi64>) -> tensor<2x1x?x4xf32>
  %q2 = eff.concat %q, %q {axis = 1 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x2x?x4xf32>
  %k = eff.concat %pk, %q {axis = 2 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x1x?x4xf32>
  %v = eff.concat %pv, %q {axis = 2 : i64} : (tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>) -> tensor<2x1x?x4xf32>
  // expected-warning @+1 {{kv-cache: the exported mask has a sliding window of 4 positions counted over cache slots: the unpaged KV-cache runtime right-pads rows of different lengths in one batch and that padding counts against the window, so such rows (prompts of different lengths in one generate, requests joining the serving engine at different steps) lose keys they should see; run rows of equal length, or compile with --paged-kv (its window counts each sequence's own positions)}}
  %y = eff.attention %q2, %k, %v, %mask {num_kv_heads = 1 : i64, scale = 5.000000e-01 : f32} : (tensor<2x2x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x4xf32>, tensor<2x1x?x?xi1>) -> tensor<2x2x?x4xf32>
  return %y : tensor<2x2x?x4xf32>
}
