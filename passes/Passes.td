//===- Passes.td - effc passes ------------------------------------*- tablegen -*-===//
// Every effc pass is declared here with its options; effc-opt registers them
// all (tools/Registration.cpp) and each has a lit test under test/lit/passes/.
#ifndef EFFC_PASSES_TD
#define EFFC_PASSES_TD

include "mlir/Pass/PassBase.td"

def RefineShapes : Pass<"eff-refine-shapes", "func::FuncOp"> {
  let summary = "Re-infer eff result types after folding made operands constant";
  let description = [{
    Inference at import time sees only what is constant then. After
    canonicalization folds shape subgraphs, re-running every op's type
    inference can turn dynamic dims static. Refined results update their uses;
    the function signature is updated when a returned value gets refined.

    With `probe-dims` and bounded dims (eff.dims), a `?` that types alone
    cannot resolve (a reshape's -1 next to a runtime seq: GPT-2's heads) is
    made static when it takes one value at every probe (dialects/eff/
    ShapeProbe.h): every dim at a low value, each dim moved alone, and every
    dim at its upper bound. A probe that fails refines nothing.
  }];
  let options = [
    Option<"probeDims", "probe-dims", "bool", /*default=*/"false",
           "Also make static the dynamic dims that no probe of the bounded dims changes">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def InsertLoRA : Pass<"eff-insert-lora", "mlir::ModuleOp"> {
  let summary = "Insert PEFT LoRA adapters: merged into the weights, or as eff.lora_linear branches";
  let description = [{
    Reads each adapter directory as PEFT saves it (adapter_config.json and
    adapter_model.safetensors; compiler/lora) and finds, for every adapted
    module, the linear ops (eff.matmul / eff.gemm with a constant 2-D weight)
    whose location carries that PyTorch module path (dialects/eff/ModulePath.h;
    the exporter's root module prefix is ignored). Legacy and dynamo exports
    alike; GPT-2's Conv1D (fan_in_fan_out) is an eff.gemm whose weight is
    already [in, out].

    With `merge`, W' = W + scale * (B A)^T is computed in fp32 at compile
    time and replaces the weight: no run-time cost. Otherwise the linear
    becomes `eff.lora_linear(x, W, A', B')` with A' = A^T [in, r] and
    B' = scale * B^T [r, out] (the scale folds into B). Several adapters
    (`adapters=a=DIR1,b=DIR2`, or any NAME=DIR form) stack into A' [n, in, R]
    and B' [n, R, out] (zero-padded to the largest rank R, zeros where an
    adapter does not touch the module) and add a function input
    `index-input` (int64 [batch], batch = the leading dim of the first input)
    choosing the adapter per request, -1 for none.

    Errors name the adapter and module: a module with no linear op, a weight
    shape that disagrees with the adapter, a target_modules entry that matches
    nothing, options effc does not implement.
  }];
  let options = [
    ListOption<"adapters", "adapters", "std::string",
               "PEFT adapter directories: DIR (one adapter) or NAME=DIR (repeatable; adds the index input)">,
    Option<"merge", "merge", "bool", /*default=*/"false",
           "Merge the (single) adapter into the weights at compile time">,
    Option<"indexInput", "index-input", "std::string", /*default=*/"\"lora_index\"",
           "Name of the per-request adapter index input added for named adapters">
  ];
  let dependentDialects = ["mlir::eff::EffDialect", "mlir::func::FuncDialect"];
}

def ConvertFloatType : Pass<"eff-convert-float-type", "func::FuncOp"> {
  let summary = "Compute in bf16 or fp16: convert weights and float tensors, keep the interface fp32";
  let description = [{
    Float32 weights become constants of the target type (converted once, at
    compile time); float32 inputs are cast on entry and outputs cast back on
    return, so callers still exchange fp32. Every op's result type is then
    re-inferred from its operands, which moves the whole float computation to
    the target type. Kernels accumulate in fp32 and round when they store.
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"",
           "Target float type: bf16 | fp16 | fp32 (fp32 leaves the function as it is)">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def QuantizeWeights : Pass<"eff-quantize-weights", "func::FuncOp"> {
  let summary = "Quantize the constant weights of linear layers (eff.quant_linear)";
  let description = [{
    Every MatMul/Gemm of an activation x [..., K] by a constant fp32 weight
    becomes eff.quant_linear with the weight packed at compile time:

    - `int8`: symmetric, scale = absmax / 127 per output channel
      (block-size 0) or per block of K; codes stored with zero point 128.
    - `nf4`: QLoRA's NormalFloat-4 as bitsandbytes packs it (W^T flattened,
      blocks of block-size values, default 64, absmax per block);
      `double-quant` quantizes the absmaxes the bitsandbytes way (8-bit
      dynamic map, blocks of 256, minus their mean) and stores them so
      (eff.quant_linear double_quant: ui8 scales), numbers and storage
      bitsandbytes'.
    - `llm-int8`: LLM.int8() (Dettmers et al.): the weight as int8 per
      channel (vector-wise absmax), and at run time the activation's outlier
      features (columns with any |x| >= `llm-int8-threshold`) multiplied in
      fp32 with the dequantized weight, the rest quantized per row (absmax)
      to int8 with int32 sums; the two added (eff.quant_linear llm_int8).

    Layers whose recorded module path matches `skip` (a regex searched in
    the path; the default keeps the LM head and MoE routers, `gate`, whose
    top-k flips with small errors) keep their weight. A single-adapter
    eff.lora_linear (--lora) is QLoRA: its base weight is quantized and the
    branch stays unmerged (x a, then eff.lora_expand onto the quantized
    product); stacked adapters are left alone, with a remark. A Gemm
    bias becomes an eff.add after the op; Gemms with alpha or beta != 1 are
    left alone. Runs on the fp32 model, before eff-convert-float-type.
    `remarks`: one per layer (what it became and the bytes, or why not) and
    a total.
  }];
  let dependentDialects = ["mlir::eff::EffDialect"];
  let options = [
    Option<"scheme", "scheme", "std::string", /*default=*/"\"int8\"",
           "int8, nf4 or llm-int8">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"0",
           "Values per scale: int8 0 = per output channel; nf4 0 = 64">,
    Option<"doubleQuant", "double-quant", "bool", /*default=*/"false",
           "nf4: quantize the absmaxes too (bitsandbytes double quantization)">,
    Option<"llmInt8Threshold", "llm-int8-threshold", "double", /*default=*/"6.0",
           "llm-int8: activation columns with any |x| >= this are outliers, computed in fp32">,
    Option<"skip", "skip", "std::string", /*default=*/"\"lm_head|(^|[.])gate$\"",
           "Regex over the module path of layers that keep their weight">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "One remark per linear layer: what it became, or why not">,
  ];
}

def RaiseMoE : Pass<"eff-raise-moe", "func::FuncOp"> {
  let summary = "Raise exported MoE layers (batched expert gathers, per-expert loops) to eff.moe";
  let description = [{
    Anchored on eff.top_k (a router candidate): when its indices gather a
    fused gate_up [E, 2I, H] and a down [E, H, I] expert weight per routed
    token (transformers' batched MoE as exported), the gathers, per-token
    matmuls, gated activation (silu or gelu) and the weighted sum over the k
    slots become one eff.moe. When they feed an eff.one_hot expert mask
    (transformers' per-expert loop as the TorchScript exporter writes it:
    per expert non_zero -> gathered rows -> gated MLP -> weight -> scatter,
    summed), the loop becomes one eff.moe with the experts' weights stacked.
    The routing weights are read back to the
    router: softmax(gemm(x, W^T)) then top-k (softmax_topk, W an operand:
    fp32 routing), top-k then softmax (topk_softmax), or top-k over scores
    computed by other ops with the weights gathered from them or from a
    second score tensor (scores: DeepSeek-V3), each with an optional
    normalization over k and a constant scale. With `remarks`, every top_k
    gets a remark: what it became, or why it was not raised.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per top_k: why it was not raised, or what it became">
  ];
}

def PartitionMoE : Pass<"eff-partition-moe", "func::FuncOp"> {
  let summary = "Split each eff.moe's experts into independent groups (--moe-partitions)";
  let description = [{
    Each eff.moe becomes one eff.moe_route (the routing, computed once over
    all experts) and `partitions` eff.moe_experts, each holding a contiguous
    group of the experts (sizes differ by at most one) and reading only the
    routed slots that land in it, summed by eff.add. The shared expert, which
    every token runs, goes with the last group (a smallest one). The groups
    depend only on x and the routing, so the CUDA backend runs them on
    separate streams. partitions = 1 leaves eff.moe alone; more partitions
    than experts give one group per expert.
  }];
  let options = [
    Option<"partitions", "partitions", "int64_t", /*default=*/"1",
           "Expert groups per eff.moe (1: no partitioning)">
  ];
}

def PartitionDevices : Pass<"eff-partition-devices", "func::FuncOp"> {
  let summary = "Plan work over N devices (--devices): expert groups, column-parallel linears";
  let description = [{
    Tags what each device runs (`eff.device`) and joins them with the
    collective ops eff.all_reduce / eff.all_gather (CollectiveOps.td); untagged
    ops are replicated. The eff.moe_experts groups of one eff.moe_route
    (eff-partition-moe runs first with at least `devices` groups) go to
    devices in contiguous runs, group p on p * N / groups; the eff.add chain
    over them becomes a sum per device and an eff.all_reduce. eff.matmul
    with a constant [K, C] weight, C divisible by N and C / N >= min-columns,
    becomes N matmuls over column blocks (device d) joined by an
    eff.all_gather on the last axis: every element is the same dot product,
    so fp32 results do not change. A matmul with a constant [K, C] weight
    whose input is made of such blocks (through elementwise ops, e.g. a gated
    MLP's act(gate) * up) is row-parallel instead: device d multiplies its
    block by rows d of the weight and an eff.all_reduce sums the partials,
    so the all-gather is not needed. eff.attention (unless attention=ring),
    eff.gemm and quantized linears stay replicated (remarks say why).
    devices = 1 changes nothing.
    With attention=ring (passes/RingAttentionPlan.cpp) an eff.attention over
    the whole sequence (queries and keys at the same positions, causal or
    full, no mask operand, window, soft-cap, ALiBi or sinks, S divisible by
    N) becomes eff.ring_attention: device d gathers the q/k/v rows of its
    tokens (ring-layout: striped d, d + N, ... or contiguous), the K/V
    blocks pass the ring, and the output rows are gathered on every device.
    With expert-parallel=all-to-all (passes/ExpertAllToAll.cpp) a static
    [T, H] MoE layer is planned as real MoE serving runs it instead: device
    d owns token rows d * T / N .. (d + 1) * T / N - 1 and routes them
    (eff.moe_route on d), eff.expert_dispatch sends each token to the devices
    holding one of its experts, the groups run there on what they received,
    eff.expert_combine returns their weighted outputs and sums them per token,
    and an eff.all_gather joins the token shards; a layer it cannot plan so
    (remarks say why) is replicated as above.
  }];
  let dependentDialects = ["mlir::eff::EffDialect"];
  let options = [
    Option<"devices", "devices", "int64_t", /*default=*/"1", "Devices to plan for (1: none)">,
    Option<"minColumns", "min-columns", "int64_t", /*default=*/"8",
           "Fewest weight columns a device gets from a column-parallel split">,
    Option<"expertParallel", "expert-parallel", "std::string", /*default=*/"\"replicate\"",
           "MoE over devices: replicate (every token on every device, an all-reduce of the "
           "expert groups' sums) or all-to-all (token shards routed locally, eff.expert_dispatch / "
           "eff.expert_combine exchange them with the experts' devices, an all-gather joins them)">,
    Option<"attention", "attention", "std::string", /*default=*/"\"replicate\"",
           "eff.attention over devices: replicate (every device attends every token) or ring "
           "(ring attention: each device keeps S / N query rows, K/V blocks pass the ring, "
           "eff.ring_attention merges by log-sum-exp)">,
    Option<"ringLayout", "ring-layout", "std::string", /*default=*/"\"auto\"",
           "Tokens of a device under attention=ring: striped (d, d + N, ...), contiguous, or "
           "auto (striped when causal, for balance; contiguous otherwise)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for what was partitioned and what stays replicated, and why">
  ];
}

def LowerMoE : Pass<"eff-lower-moe", "func::FuncOp"> {
  let summary = "Run each eff.moe as its stage kernels (route, permute, grouped GEMMs, combine)";
  let description = [{
    Each eff.moe becomes eff.moe_route, for prefill eff.moe_permute (the
    slots sorted by expert), eff.moe_expert_gemm for gate/up (act(g) * u in
    x's type) and for down (f32 rows), the same two with dense rows for a
    shared expert, and eff.moe_combine (the weighted sum per token, plus the
    shared expert with its sigmoid gate). Decode (at most 8 tokens,
    compiler/kernelmodel/MoEModel.h) keeps slot order and skips the
    permutation. An eff.moe of float64, more than 256 experts or dynamic
    shapes stays whole (its per-token kernel); with `remarks` it says why.
  }];
  let dependentDialects = ["mlir::eff::EffDialect"];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for each eff.moe kept whole">
  ];
}

def RaiseAttention : Pass<"eff-raise-attention", "func::FuncOp"> {
  let summary = "Raise matmul-softmax-matmul chains to eff.attention";
  let description = [{
    Anchored on eff.softmax over the last axis, matches
    matmul(softmax(scale * matmul(q, k^T) + mask), v) after normalizing what
    exporters vary: where k^T comes from (a transpose of k, or a
    reshape/transpose/reshape chain through a 3-D view), where the scale sits
    (on the scores, on q, on k^T, or split as sqrt(scale) on both), the mask
    algebra (an additive mask or Where(mask, scores, -inf); constant masks
    equal to the causal or banded-causal pattern become `causal` / `window`,
    all-attend masks disappear, anything else stays a broadcastable mask
    operand), NaN guards after the softmax (Where(IsNaN(p), 0, p): the op
    already gives zeros for rows with no allowed key), GQA repeat_kv
    (Unsqueeze -> Expand -> Reshape of K and V becomes num_kv_heads), and 2-D
    / 3-D [B*H, S, D] forms (reshaped to 4-D around the op).
    A softmax that is not attention is left as it is; with `remarks`, each
    one gets a remark saying why, and each raised one a remark with its
    attributes.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per softmax: why it was not raised, or what it became">,
    Option<"allowFloatMask", "allow-float-mask", "bool", /*default=*/"true",
           "Keep a float additive mask that is not a causal/window pattern as the "
           "mask operand (false: leave such softmaxes unraised)">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def DecomposeLoRA : Pass<"eff-decompose-lora", "func::FuncOp"> {
  let summary = "Lower eff.lora_linear to the base GEMM, a shrink GEMM and eff.lora_expand";
  let description = [{
    Each `y = eff.lora_linear(x, w, a, b, [lora_index]) {scale}` becomes

      t  = eff.matmul(x, a_flat)        the shrink: [..., n * R]
      y0 = eff.matmul(x, w)             the base GEMM
      y  = eff.lora_expand(y0, t, b, [lora_index]) {scale, t_offset}

    where a_flat [K, n * R] is a itself for one adapter and, for stacked
    adapters a [n, K, R], eff.transpose (perm [1, 0, 2]) then eff.reshape to
    [K, n * R]; these fold when a is a constant (weights are transposed once,
    at compile time). eff-fuse-gemm-epilogue then moves the expand into the
    base GEMM's epilogue, so the LoRA branch costs one small GEMM plus R
    multiply-adds per output element, and y0 never reaches memory.

    With `share-shrink`, lora_linear ops that read the same x (q/k/v
    projections) share one shrink GEMM over the concatenation of their
    a_flat along N: each lora_expand reads its own column range of the
    common t through `t_offset`. An op joins the group of the first op on
    its x when its a is available there.
  }];
  let options = [
    Option<"shareShrink", "share-shrink", "bool", /*default=*/"true",
           "One shrink GEMM per x for all its lora_linear ops (columns addressed by t_offset)">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def SplitKVDecode : Pass<"eff-split-kv-decode", "func::FuncOp"> {
  let summary = "Split decode-shaped eff.attention over the keys (flash-decoding)";
  let description = [{
    With few queries (decode with a KV cache) one CTA per (batch, kv head)
    leaves most of the GPU idle while it streams the whole KV cache. Each
    eligible eff.attention becomes eff.attention_partial (the keys cut into
    num_splits chunks, one CTA per chunk: a partial output and its
    log-sum-exp per split) followed by eff.attention_combine (the exact
    reduction). The partial results are ordinary tensors, so the execution
    plan places them in the arena like any intermediate and the host backend
    checks the pair against eff.attention.

    Eligible: static shapes, or bounded symbolic dims of a decoder (the
    bounds of input_ids' batch/seq and past_key_values' past length give
    the largest B, S and L = past + S the decision uses; each run cuts its
    own keys), S <= max-q-len, L >= min-kv-len, q/k/v f16 or
    bf16, and a spec the split-KV decode kernel supports
    (flashDecodeApplicable: S <= 16, head dims multiples of 8 up to 256,
    bool or f32/f16/bf16 additive mask). fp32 attention is never split: the
    decode kernel feeds f16 operands to the tensor cores, and fp32 models
    keep the exact fp32 kernel (within 1e-4 of references). num_splits comes
    from the decode generator's heuristic (chooseFlashDecodeSplits: split
    while B * Hkv CTAs fill less than ~0.8 waves of num-sms SMs); when it
    picks 1 the op is left alone. `splits` > 0 forces a count (trailing
    splits may then be empty).

    Runs after eff-convert-float-type (it must see the final dtype) and
    before fusion. With `remarks`, each eff.attention gets a remark: its
    split count, or why it was not split.
  }];
  let options = [
    Option<"maxQLen", "max-q-len", "int64_t", /*default=*/"16",
           "Split only attention with at most this many queries (the decode kernel takes <= 16)">,
    Option<"minKvLen", "min-kv-len", "int64_t", /*default=*/"512",
           "Split only attention over at least this many keys (below, the extra combine "
           "launch costs more than the split saves)">,
    Option<"numSms", "num-sms", "int", /*default=*/"132",
           "Streaming multiprocessors of the target GPU (132: H100 SXM) for the split heuristic">,
    Option<"splits", "splits", "int", /*default=*/"0",
           "Split count; 0 = the decode generator's heuristic">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per eff.attention: its split count, or why it was not split">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def KvCache : Pass<"eff-kv-cache", "func::FuncOp"> {
  let summary = "Give a decoder exported without a cache the with-past interface (effc --kv-cache)";
  let description = [{
    A decoder exported without a cache (input_ids [batch, seq] -> logits)
    gets Optimum's with-past interface, which the KV-cache runtime drives
    (PastStepModel): inputs attention_mask [batch, total], position_ids
    [batch, seq] and per eff.attention i (program order)
    past_key_values.{i}.key/value [batch, kv_heads, past, head_dim]; outputs
    present.{i}.key/value = concat(past, the attention's K/V) along the
    sequence axis, which the attention then reads (eff-kv-cache-inplace makes
    the concat an eff.kv_append).

    Everything computed from constants and input_ids' shape alone (position
    ids from Range/CumSum, causal and sliding-window masks, RoPE tables,
    learned position embeddings) is re-evaluated with seq := total (the slice
    cloned over eff.shape(attention_mask)); an attention's mask keeps the
    new queries' rows [total - seq, total) and is and-ed with attention_mask;
    other such tensors [1, .., seq, ...] are gathered at position_ids.
    Static-shaped shape vectors stay (they size the new tokens' tensors).
    The runtime right-pads rows of different lengths, so a mask that is not
    exactly causal over positions (evaluated at total's bound: a sliding
    window, a distance bias) is instead read at each row's token positions
    (cum_sum(attention_mask) - 1; rows gathered at the queries', keys by
    gather_elements at the keys'); causal masks keep the slot rows.

    Needs input_ids' seq symbolic and bounds for `past-dim` and `total-dim`
    in eff.dims. A model that has past_key_values inputs is left alone
    (eff-kv-cache-inplace warns when its own mask's sliding window counts
    cache slots, which right-padded rows of different lengths break). What
    cannot be converted (other inputs, positions from token values or data,
    bidirectional attention, other K/V layouts, positional tensors read
    otherwise) is an error naming the op and why, and nothing changes. With
    `remarks`, each attention and positional tensor says what it became.
  }];
  let options = [
    Option<"pastDim", "past-dim", "std::string", /*default=*/"\"past\"",
           "Name of the cache length dim (bounded in eff.dims)">,
    Option<"totalDim", "total-dim", "std::string", /*default=*/"\"total\"",
           "Name of the cache + new tokens dim (attention_mask's length, bounded in eff.dims)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per converted attention and positional tensor">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def KvCacheInplace : Pass<"eff-kv-cache-inplace", "func::FuncOp"> {
  let summary = "Turn a decoder's concat(past_key_values.i, new K/V) into eff.kv_append";
  let description = [{
    A decoder exported with past (Optimum: past_key_values.{i}.key/value ->
    present.{i}.key/value) joins each layer's cache and the new tokens' keys
    or values with a Concat along the sequence axis, attends over the result
    and returns it as the present. Each such concat becomes eff.kv_append
    (same value; issue 14 stage S4): the present lives in the session-owned
    cache `present.{i}.*` of `capacity` rows, so a step appends only its new
    rows instead of copying the whole cache. An attention whose own mask
    has a sliding window over cache slots (HF's cache_position masks) gets a
    warning: the unpaged runtime right-pads rows of different lengths, and
    that padding would count against the window (PagedKvMask.h).

    Matched: a rank-4 eff.concat of two operands along axis 2 (or -2) whose
    first operand is the function input named past_key_values.{i}.{key|value},
    whose result is returned as present.{i}.{key|value} and reaches an
    eff.attention key or value operand (directly or through the
    reshape/expand of repeat_kv), and whose past length is symbolic (a fixed
    past keeps nothing between steps). capacity is max-length when given,
    else past's upper bound (eff.dims) plus the new rows' largest length
    (their static length, or input_ids' dim 1 bound).

    Without effc --kv-state kernels write the present contiguous (the value
    of concat); with it the plan keeps it in session state. `state`
    (effc --kv-state) first gives the cache interface the compute dtype: a
    past input read only through one float eff.cast (and eff.shape) takes
    the cast's type, and its present, returned through a cast from that
    type, is returned before the cast, so under --dtype=bf16 the cache is
    kept in bf16 and no step casts it.
    With `remarks`, each rank-4 concat along the sequence axis gets a
    remark: converted (with the capacity and how it reaches attention) or
    why not.
  }];
  let options = [
    Option<"maxLength", "max-length", "int64_t", /*default=*/"0",
           "Rows of each cache (past + new); 0 = from the dims' upper bounds">,
    Option<"state", "state", "bool", /*default=*/"false",
           "The caches will be session state (effc --kv-state): past inputs and presents "
           "take the compute dtype, their interface casts disappear">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per sequence-axis concat: converted, or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def LastLogits : Pass<"eff-last-logits", "func::FuncOp"> {
  let summary = "Compute the logits at one position per row, named by a new input "
                "logits_index (effc --last-logits)";
  let description = [{
    Generation reads one logits row per sequence and run (issue 14): the
    prefill's last prompt position, which differs between rows of different
    lengths, and a decode step's only position. The function result named
    `logits`, eff.matmul(hidden [batch, seq, hidden], W [hidden, vocab]),
    becomes eff.matmul(eff.gather_elements(hidden, logits_index expanded
    over hidden, axis 1), W): [batch, 1, vocab], from the new last input
    `logits_index` [batch] (int64; its batch dim named as input_ids'), the
    position within the run's seq of each row's logits. The LM head's GEMM
    and the logits buffer shrink by seq. Anything else producing `logits`
    (or no such result) is an error naming it. With `remarks`, a remark
    says what was done.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark with the new logits type">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def PagedKv : Pass<"eff-paged-kv", "func::FuncOp"> {
  let summary = "Page a decoder's KV cache: eff.kv_append + eff.attention -> a page pool read "
                "through a block table (effc --paged-kv)";
  let description = [{
    Issue 19 part 1. What eff-kv-cache-inplace leaves of a decoder with past
    (per layer, eff.kv_append of the new keys and values to
    past_key_values.{i}.*, read by eff.attention directly or through
    repeat_kv / K^T views, returned as present.{i}.*) becomes attention over
    one page pool per cache tensor:
      - past_key_values.{i}.* becomes the pool input kv_pages.{i}.*
        [pool-pages, kv_heads, page-size, head_dim] and present.{i}.* the
        output kv_pages_out.{i}.*, eff.paged_kv_write(pool, new rows,
        slot_mapping): the pool with the new rows stored (the runtime feeds
        it back; session state once the plan keeps state buffers);
      - eff.attention becomes eff.paged_attention(q, the written pools,
        block_table, seq_lens), causal, with `window` W when the attention
        has one or its mask is causal + padding within a sliding window of W
        positions (query p sees keys p - W + 1..p; the narrower of the two);
      - new int32 inputs block_table [batch, max_pages] (max_pages =
        ceil(capacity / page-size), capacity the appends' own), seq_lens
        [batch] (positions each row holds after the run) and slot_mapping
        [batch, seq] (page * page-size + offset of each new row; -1: a
        padded row, not written). Queries are the last seq positions of
        their row: the caller left-pads a shorter feed.
    The attention mask must be computed from attention_mask alone (with
    input_ids, position_ids and the past's shapes): seq_lens and causal say
    what it said, so it dies, and attention_mask goes when nothing else reads
    it; dims no input names any more leave eff.dims. Attention with a
    soft-cap, ALiBi or sinks, a window without causal masking, a cache read
    by anything else, or a mask from other inputs or that is more than
    causal + padding + one sliding window is not converted, and then no
    layer is (one pool layout per model). pool-pages 0 = the batch's upper bound times
    max_pages. With `splits` N > 0 each attention is the split-KV pair
    eff.paged_attention_partial (N chunks of whole pages) +
    eff.attention_combine instead (effc: --split-kv-splits=N with
    --paged-kv). With `remarks`, each layer says what it became or why not.
  }];
  let options = [
    Option<"pageSize", "page-size", "int64_t", /*default=*/"16",
           "Positions per page">,
    Option<"poolPages", "pool-pages", "int64_t", /*default=*/"0",
           "Pages per pool; 0 = batch bound x pages per sequence">,
    Option<"splits", "splits", "int64_t", /*default=*/"0",
           "Split-KV: eff.paged_attention_partial over N chunks of whole pages + "
           "eff.attention_combine (long contexts); 0 = one eff.paged_attention">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per attention over a kv_append: converted, or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def PackedTokens : Pass<"eff-packed-tokens", "func::FuncOp"> {
  let summary = "Run a paged decoder over packed ragged tokens: input_ids [1, T] holds many "
                "sequences' new tokens back to back, attention per token (effc --packed-tokens)";
  let description = [{
    Issue 19 (continuous batching without padding). After eff-paged-kv, a
    model whose input_ids is [1, seq] with a symbolic seq (effc --dim
    batch=1 --dim seq=1..T) can run the new tokens of several sequences in
    one pass, packed along seq, when nothing but attention mixes tokens:
      - each eff.paged_attention(_partial) takes q transposed from
        [1, Hq, T, D] to [T, Hq, 1, D] (one query row per token; its
        eff.attention_combine likewise) and its result back;
      - block_table becomes [seqs, max_pages] (one row per sequence of the
        run; seqs a new dim bounded by seq) and the new input token_seq [T]
        names each token's row (the model gathers each token's table row,
        eff.gather); seq_lens becomes token_seq_lens [T] (each token's
        position + 1), on input_ids' seq dim; slot_mapping [1, T] already
        names each token's slot.
    Every other op must compute a token from that token alone. The token
    dims are those whose extent changes with seq (the function's shapes
    probed at two values of it): nothing reduces, contracts, pairs,
    concatenates, slices, gathers or normalizes along one, no reshape
    regroups them, the token count read by eff.shape only sizes reshapes
    and expands, and an op not known to keep tokens apart stops it.
    Otherwise the model is left as it is. With `remarks`, a remark says what
    was done or why not.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark: converted, or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def FoldAttentionLayout : Pass<"eff-fold-attention-layout", "func::FuncOp"> {
  let summary = "Fold the head transposes around a KV cache append and attention's output";
  let description = [{
    A decoder's attention block moves its keys and values between the
    projection's [B, S, H, D] and attention's [B, H, S, D] with
    eff.transpose, each a kernel of its own at decode (2-4 us on an H100,
    more than the copy). Where such a transpose's sole reader is
    eff.kv_append's new_rows, the append reads the transpose's operand
    through its strides instead (kv_append's rows_perm, composed with one
    it already has) and the transpose goes. Likewise attention's output,
    transposed back to [B, S, H, D] for the output projection: where the
    transpose is the only reader of an eff.attention, eff.paged_attention
    or eff.attention_combine (split-KV decode's second step, which writes
    the result), the op writes that layout itself (out_perm, composed with one
    it already has) and the transpose goes.

    Not folded (each with a remark under `remarks`): a transpose with other
    readers (it stays a kernel either way); new rows of
    eff.paged_kv_write (it takes [B, H, S, D] rows only); an output
    transpose that moves the head dim (the kernels write rows of head_dim
    contiguous); the output of eff.ring_attention (its kernels write
    [B, H, S, D] only). Runs after
    eff-kv-cache-inplace, eff-paged-kv and eff-split-kv-decode (so the
    layout lands on the combine that writes the result) and before
    eff-fuse-elementwise.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per kv_append, and per paged_kv_write and attention output read "
           "through a transpose: what folded, or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def FuseElementwise : Pass<"eff-fuse-elementwise", "func::FuncOp"> {
  let summary = "Group chains of elementwise ops into eff.fusion kernels";
  let description = [{
    Walks each function bottom-up and grows a group from every elementwise op
    into the elementwise producers of its operands, as long as a producer has
    the group's result shape and no user outside the group (so the group has
    one output and intermediate values never reach memory). Groups of two or
    more ops become one `eff.fusion elementwise` region; operands defined
    outside (activations, weights, broadcast inputs) become its inputs.

    Index-mapping producers join too (XLA-style loop fusion): ops whose every
    output element is one input element at a computable index, namely
    eff.transpose, eff.slice with constant starts/ends/axes/steps on static
    dims, and eff.concat. The kernel then reads its inputs through their
    index maps, and an elementwise op below them (the neg of a rotate_half)
    is evaluated at the mapped index, so a RoPE chain and the head transpose
    before it become one kernel. Such an op never starts a group and joins
    only when every user is in the group: a producer read elsewhere is kept
    (stored once), not recomputed. An elementwise op joins an elementwise
    consumer only with the consumer's shape (no recomputation per broadcast
    element); an index-mapping consumer takes producers of any shape. Dynamic
    dims compare through the probes of the bounded dims (eff.dims); ops
    placed by eff-partition-devices (eff.device) stay apart; `max-ops` bounds
    every kernel. eff-fuse-gemm-epilogue leaves such kernels alone.

    With `remarks`, each elementwise op left alone gets a remark saying why
    (except the sole consumer of a GEMM: eff-fuse-gemm-epilogue decides it),
    each kernel with index-mapping ops says which it reads through, and an
    index-mapping op that feeds a fused kernel without joining it says why.
  }];
  let options = [
    Option<"maxOps", "max-ops", "unsigned", /*default=*/"64",
           "Largest number of ops one fused kernel may hold">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per elementwise op left unfused, saying why">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def FuseGemmEpilogue : Pass<"eff-fuse-gemm-epilogue", "func::FuncOp"> {
  let summary = "Fold the elementwise consumer of a GEMM into its epilogue";
  let description = [{
    A matmul/gemm whose result has exactly one use, by an
    `eff.fusion elementwise` or a single elementwise op producing the same
    shape, becomes one `eff.fusion gemm_epilogue`: the GEMM is cloned first
    into the body (its operands become the fusion's first inputs), then the
    consumer's ops, so bias, activation, residual, scale and cast run on the
    accumulator before the one store. Runs after eff-fuse-elementwise. A GEMM
    result that is returned or read elsewhere stays in memory (no fusion);
    so do 1-D matmul operands and non-float outputs.

    LoRA: a GEMM whose sole use is the `acc` of an eff.lora_expand absorbs
    the expand first (its t, b and lora_index become fusion inputs), then
    the expand's sole elementwise consumer as above, so the body is
    GEMM -> lora_expand -> [elementwise chain].

    With `remarks`, each GEMM that gets no epilogue gets a remark saying why.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per GEMM left without a fused epilogue, saying why">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def MergeSiblingLinears : Pass<"eff-merge-sibling-linears", "func::FuncOp"> {
  let summary = "Merge linear layers that read one activation (q/k/v projections) into one GEMM "
                "over their weights concatenated along N, each result a constant slice";
  let description = [{
    vLLM's QKVParallelLinear at compile time: eff.matmul ops with the same
    activation x [..., K] and constant weights [K, N_i] (transB = 0) of one
    K and element type become one eff.matmul over a new constant [K, sum
    N_i] (the weights side by side per row); each original result is the
    eff.slice of its columns. One launch replaces several, and the narrow
    k/v GEMMs of a decode step no longer each leave most of the GPU idle.
    A linear whose only reader adds a constant [N] bias brings the bias
    along (the merged add gets the biases side by side, zeros for a member
    without one), so the bias stays in the GEMM's epilogue.

    Where every reader of a member is a reshape [..., N] -> [..., H, D] (the
    attention's split into heads; D static, dividing the member's columns
    and its first column), the merged result is reshaped with that reader's
    shape operand and sliced on the heads axis instead: whole heads, a
    static slice that eff-fuse-elementwise takes into the kernel reading
    the heads (RoPE). The reshapes' dims are proven at every probe of the
    bounded dims (eff.dims) or statically; otherwise the slice stays on the
    columns.

    Not merged (each with a remark under `remarks`): eff.lora_linear and
    eff.quant_linear (no plain constant weight); a matmul placed on a device
    (eff.device), with a weight stored [N, K] or not a static 2-D constant,
    or whose weight data is not available; siblings of another K or element
    type; a group whose results meet in an elementwise op within a few
    steps (a gated MLP's silu(gate) * up: eff-fuse-gemm-epilogue already
    puts the product into one GEMM's epilogue, so a merge saves no launch).
    Runs after the dtype conversion and before eff-decompose-lora,
    eff-k-major-weights (which then sees the merged weight) and fusion.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per group of linears reading one activation: what merged, or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

def KMajorWeights : Pass<"eff-k-major-weights", "func::FuncOp"> {
  let summary = "Store a 16-bit constant matmul weight [K, N] whose rows are not 16-byte aligned "
                "as [N, K] (matmul transB = 1) for the sm_90a wgmma/TMA kernels";
  let description = [{
    TMA tensor maps need 16-byte multiples for every global stride, and the
    wgmma kernels' loads 16-byte aligned rows, so an sm_90a GEMM whose B is a
    bf16/fp16 [K, N] with N not a multiple of 8 (a vocab-sized LM head such
    as GPT-2's 50257) stays on the mma.sync kernel. This pass (effc adds it
    for --arch=sm_90a unless --gemm=mma) stores such a constant weight
    transposed at compile time, [N, K], and sets the matmul's transB: the
    kernels read B K-major (wgmma's K-major B, TMA boxes of 64 k x BN rows;
    the ragged last N tile is zero-filled by TMA and its stores predicated).
    The product is unchanged (the host reference reads the same logical
    weight through transB). Taken: eff.matmul(x [..., K], constant [K, N])
    with transB = 0, K a multiple of 8, and every use of the constant the b
    of such a matmul (they share the transposed copy). With `remarks`, a
    remark per misaligned 16-bit constant weight says what was done, or why
    not.
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark per misaligned 16-bit constant weight: stored [N, K], or why not">
  ];
  let dependentDialects = ["mlir::eff::EffDialect"];
}

#endif // EFFC_PASSES_TD
