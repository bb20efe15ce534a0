//===- KvCacheOps.td - the in-place KV cache ---------------------------===//
// eff.kv_append (issue 14 stage S4): what eff-kv-cache-inplace makes of a
// decoder's concat(past_key_values.i, new K/V) along the sequence axis.
// eff.paged_attention (issue 19): attention over a paged KV cache through a
// block table (host kernel runtime/src/host/KvCache.cpp, device code
// compiler/codegen/device/paged_attention.cuh) and eff.paged_kv_write, which
// stores new rows into their pages (what eff-paged-kv makes of kv_append).

#ifndef EFF_KV_CACHE_OPS_TD
#define EFF_KV_CACHE_OPS_TD

def Eff_KvAppendOp : Eff_Op<"kv_append"> {
  let cudaFamily = "DataMovement";
  let onnxName = "";
  let summary = "append new keys or values to a layer's KV cache (concat along the sequence axis)";
  let description = [{
    past: [B, H, P, D], new: [B, H, S, D] -> present: [B, H, P + S, D], the
    value of concat(past, new) along axis 2; past and new have one element
    type.

    The op states where that value lives: the session-owned cache `state`
    (the name of the model output it is returned as, e.g. "present.0.key")
    of `capacity` rows per (batch, head), capacity >= every P + S the model
    admits. Appending writes only the S new rows at row P; when `past` is
    that same state (the runtime binds past_key_values.i to it between
    steps) nothing else moves, and readers take the present's P + S rows
    with a row stride of `capacity`. Without the binding the kernel copies
    past's rows first, so the value is concat's either way. The plan places
    the present in session state only under effc --kv-state
    (compiler/plan/SessionState.cpp); otherwise kernels write it contiguous
    (capacity = P + S), exactly as concat.

    `rows_perm` (optional, a permutation of 0..3) says new_rows is stored
    permuted: the rows appended are transpose(new_rows, rows_perm), so
    new_rows' dim rows_perm[k] is the k-th of [B, H, S, D]. E.g. [0, 2, 1,
    3] takes the projection's [B, S, H, D] as it is (eff-fold-attention-
    layout folds such a transpose producer in; the kernels read the rows
    through its strides). Absent: new_rows is [B, H, S, D].

    `rows_offset` (optional, 4 entries >= 0 on the [B, H, S, D] dims, the
    S entry 0) says the rows are a window of (permuted) new_rows: row (b, h,
    s, d) is its element (b + o0, h + o1, s, d + o3), and dims B, H and D are
    past's (a dim with an offset must be static in past). E.g. the value
    heads of a merged q/k/v projection (eff-merge-sibling-linears) read in
    place: new_rows [B, S, Hq + 2 Hkv, D], rows_perm [0, 2, 1, 3],
    rows_offset [0, Hq + Hkv, 0, 0]. Absent: no window.
  }];
  let arguments = (ins Eff_FloatTensor:$past, Eff_FloatTensor:$new_rows, I64Attr:$capacity,
                       StrAttr:$state, OptionalAttr<DenseI64ArrayAttr>:$rows_perm,
                       OptionalAttr<DenseI64ArrayAttr>:$rows_offset);
  let results = (outs Eff_FloatTensor:$present);
  let hasVerifier = 1;
}

def Eff_PagedAttentionOp : Eff_Op<"paged_attention"> {
  let cudaFamily = "PagedAttention";
  let onnxName = "";
  let summary = "attention of new queries over a paged KV cache, read through a block table";
  let description = [{
    The keys and values live in pages of one pool (issue 19, vLLM's
    PagedAttention): k_cache and v_cache [NP, Hkv, PS, D] hold NP pages of
    PS positions of every kv head; row b's position t is in page
    block_table[b, t / PS] at row t % PS. Nothing is gathered into a
    contiguous copy: the kernels read each key and value through the table.

    q: [B, Hq, S, D], block_table: [B, MB] and seq_lens: [B] (int32 or
    int64) -> y: [B, Hq, S, D]. seq_lens[b] is the number of positions row
    b holds, its S queries being the last S of them: query s sits at
    position p = seq_lens[b] - S + s and, with `causal` = 1 (the default),
    sees keys 0..p; with 0, every key 0..seq_lens[b]-1. Query head h reads
    kv head h / (Hq / Hkv) (GQA). `window` W > 0 (a sliding window, as
    eff.attention's: Mistral's, Gemma's local layers) also hides keys
    before p - W + 1, so query p sees keys max(0, p - W + 1)..p; it needs
    `causal` = 1. 0 (the default): no window.

      y[b, h, s] = sum_t softmax_t(scale * q[b, h, s] . k_t) v_t

    accumulated in fp32, rounded once on store. A query with p < 0 (a
    padded row, seq_lens[b] < S) or no visible key gets zeros. seq_lens[b]
    must be <= MB * PS and every page a visible key needs (with a window, none
    before the first query's window) within [0, NP):
    the host kernel reports either as an error; the CUDA kernel clamps
    seq_lens to MB * PS and skips keys of such pages, never reading outside
    the pool. `out_perm` as eff.attention's: y stored as
    transpose([B, Hq, S, D], out_perm), e.g. [0, 2, 1, 3] gives [B, S, Hq,
    D] (eff-fold-attention-layout folds such a transpose reader in). Never
    folded.
  }];
  let arguments = (ins Eff_FloatTensor:$q, Eff_FloatTensor:$k_cache, Eff_FloatTensor:$v_cache,
                       Eff_IndexTensor:$block_table, Eff_IndexTensor:$seq_lens,
                       F32Attr:$scale, Eff_DefaultI64<"1">:$causal,
                       Eff_DefaultI64<"0">:$window,
                       OptionalAttr<DenseI64ArrayAttr>:$out_perm);
  let results = (outs Eff_FloatTensor:$y);
  let hasVerifier = 1;
}

def Eff_PagedAttentionPartialOp : Eff_Op<"paged_attention_partial"> {
  let cudaFamily = "PagedAttentionPartial";
  let onnxName = "";
  let summary = "eff.paged_attention over each of num_splits key chunks (split-KV paged decode)";
  let description = [{
    Operands and attributes as eff.paged_attention, plus `num_splits` = P.
    The positions a row's block table can hold, max_pages * page_size, are
    cut into P chunks of whole pages, ceil(max_pages / P) pages each: split
    s covers positions [s * chunk, (s + 1) * chunk) (trailing splits may be
    empty), and within it the keys eff.paged_attention's query would see
    (`window` as there: a split wholly before a query's window reads no
    page).
    For each split:

      o_partial[s]: f32 [P, B, Hq, S, D], the attention over the chunk's
                    visible keys alone (normalized within the chunk);
      lse[s]:       f32 [P, B, Hq, S], ln(sum of exp(score)) over them.

    A chunk without a visible key gives o_partial = 0 and lse = -inf, so
    eff.attention_combine (with `to` = q's data type) turns the pair into
    eff.paged_attention's result. On the GPU each (query row, split) is one
    block, so a long cache decodes in parallel. Never folded.
  }];
  let arguments = (ins Eff_FloatTensor:$q, Eff_FloatTensor:$k_cache, Eff_FloatTensor:$v_cache,
                       Eff_IndexTensor:$block_table, Eff_IndexTensor:$seq_lens,
                       F32Attr:$scale, Eff_DefaultI64<"1">:$causal, I64Attr:$num_splits,
                       Eff_DefaultI64<"0">:$window);
  let results = (outs Eff_F32Tensor:$o_partial, Eff_F32Tensor:$lse);
  let hasVerifier = 1;
}

def Eff_PagedKvWriteOp : Eff_Op<"paged_kv_write"> {
  let cudaFamily = "PagedKvWrite";
  let onnxName = "";
  let summary = "write new keys or values into their pages of a paged KV cache pool";
  let description = [{
    cache: [NP, H, PS, D] (NP pages of PS positions of every head, as
    eff.paged_attention reads them), new_rows: [B, H, S, D] and
    slot_mapping: [B, S] (int32 or int64) -> the pool with each new row
    stored: row (b, s) of every head goes to page slot_mapping[b, s] / PS,
    position slot_mapping[b, s] % PS (vLLM's reshape_and_cache). A negative
    entry skips the row (a padded query); every other entry must be below
    NP * PS (the host kernel reports one outside as an error, the CUDA
    kernel skips it) and no two entries may name one slot. Rows of the pool
    that no entry names keep their values: when the runtime binds the
    result to the cache operand (session state) only the new rows move.
    Never folded.
  }];
  let arguments = (ins Eff_FloatTensor:$cache, Eff_FloatTensor:$new_rows,
                       Eff_IndexTensor:$slot_mapping);
  let results = (outs Eff_FloatTensor:$present);
  let hasVerifier = 1;
}

#endif // EFF_KV_CACHE_OPS_TD
