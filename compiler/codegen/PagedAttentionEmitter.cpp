//===- PagedAttentionEmitter.cpp - eff.paged_attention(_partial) ----------===//
//
// A config struct with every size baked in and the dtype glue (ld/st of the
// float operands, page/len of the int32 or int64 block table and sequence
// lengths, eff.paged_attention's output row offset y_row through out_perm),
// then paged_attention_row<C, WARPS> (device/paged_attention.cuh),
// whose text the kernel carries (include-guarded, so several paged kernels
// share one copy in a translation unit). One block of 4 warps per query row;
// eff.paged_attention_partial: one per (query row, split), calling
// paged_attention_split_row<C, WARPS, SPLITS, CHUNK>. The batch and query
// rows may be runtime extents (batch()/seq() read effc_dims; the grid is
// planned at their upper bounds, blocks past the run's rows return).
//
#include "compiler/codegen/AttentionDesc.h"
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "compiler/codegen/device/DeviceCode.h"

#include <algorithm>

namespace effc::codegen {
namespace {

constexpr int kWarps = 4;

/// The splits of eff.paged_attention_partial (0: eff.paged_attention).
int64_t splitsOf(const KernelDesc &d) {
  return d.op == "eff.paged_attention_partial" ? d.intAttr("num_splits", 1) : 0;
}

bool checkPaged(const KernelDesc &d, std::string &error) {
  const int64_t splits = splitsOf(d);
  bool outputsOk = false;
  if (d.inputs.size() != 5) {
    error = d.op + ": expected 5 operands (q, k_cache, v_cache, block_table, seq_lens)";
    return false;
  }
  if (splits == 0) { // y: q's [B, Hq, S, D] stored through out_perm
    std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
    if (!perm)
      return false;
    outputsOk = d.outputs.size() == 1 && d.outputs[0].rank() == 4 && d.inputs[0].rank() == 4 &&
                attentionLogicalShape(*perm, d.outputs[0].shape) ==
                    std::array<int64_t, 4>{d.inputs[0].shape[0], d.inputs[0].shape[1],
                                           d.inputs[0].shape[2], d.inputs[0].shape[3]} &&
                d.outputs[0].dtype == d.inputs[0].dtype;
  } else {
    std::vector<int64_t> partial = {splits};
    partial.insert(partial.end(), d.inputs[0].shape.begin(), d.inputs[0].shape.end());
    outputsOk = splits >= 1 && splits <= 65535 && d.outputs.size() == 2 &&
                d.outputs[0].shape == partial && d.outputs[0].dtype == DType::FLOAT32 &&
                d.outputs[1].shape == std::vector<int64_t>(partial.begin(), partial.end() - 1) &&
                d.outputs[1].dtype == DType::FLOAT32;
  }
  if (d.inputs.size() != 5 || !outputsOk || d.inputs[0].rank() != 4 || d.inputs[1].rank() != 4 ||
      d.inputs[2].shape != d.inputs[1].shape || d.inputs[3].rank() != 2 ||
      d.inputs[4].rank() != 1) {
    error = d.op + ": expected q [B, Hq, S, D], k_cache = v_cache [pages, Hkv, page_size, D], "
                   "block_table [B, max_pages], seq_lens [B] and y of q's shape through "
                   "out_perm (partial: f32 "
                   "o_partial [splits, B, Hq, S, D] and lse [splits, B, Hq, S], 1..65535 splits)";
    return false;
  }
  const auto &q = d.inputs[0].shape, &k = d.inputs[1].shape;
  DType t = d.inputs[0].dtype;
  if ((t != DType::FLOAT32 && t != DType::FLOAT16 && t != DType::BFLOAT16) ||
      d.inputs[1].dtype != t || d.inputs[2].dtype != t) {
    error = d.op + ": q, k_cache and v_cache must share one dtype of f32, f16, bf16";
    return false;
  }
  for (size_t i : {size_t(3), size_t(4)})
    if (d.inputs[i].dtype != DType::INT32 && d.inputs[i].dtype != DType::INT64) {
      error = d.op + ": block_table and seq_lens must be int32 or int64";
      return false;
    }
  if (k[3] != q[3] || q[3] < 1 || q[3] > 256) {
    error = d.op + ": the paged kernel needs a head dim of 1..256 (k_cache's and q's), got " +
            std::to_string(q[3]);
    return false;
  }
  if (k[1] < 1 || q[1] % k[1] != 0 || d.inputs[3].shape[0] != q[0] ||
      d.inputs[4].shape[0] != q[0]) {
    error = d.op + ": inconsistent heads or batch";
    return false;
  }
  if (d.intAttr("window", 0) < 0 || (d.intAttr("window", 0) > 0 && d.intAttr("causal", 1) == 0)) {
    error = d.op + ": window must be 0 or, with causal = 1, positive; got " +
            std::to_string(d.intAttr("window", 0));
    return false;
  }
  if (q[0] * q[1] * q[2] > (int64_t(1) << 31) - 1) {
    error = d.op + ": more query rows than one grid dimension holds";
    return false;
  }
  // Runtime extents (issue 14 S3): q's batch and rows; heads, head dim, the
  // pools and the block table's width are static.
  const std::vector<Extent> qe = d.inputs[0].extents(), ke = d.inputs[1].extents(),
                            te = d.inputs[3].extents();
  if (!qe[1].isConstant() || !qe[3].isConstant() || !te[1].isConstant() ||
      !std::all_of(ke.begin(), ke.end(), [](const Extent &e) { return e.isConstant(); })) {
    error = d.op + ": only the batch and query rows may be runtime extents (heads, head dim, "
                   "the pools and the block table's width must be static)";
    return false;
  }
  return true;
}

} // namespace

bool choosePagedAttention(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (!checkPaged(d, error))
    return false;
  const auto &q = d.inputs[0].shape;
  c.variant = splitsOf(d) ? "split-warp-online-softmax" : "warp-online-softmax";
  c.setParam("warps", kWarps);
  c.launch.grid[0] = uint32_t(q[0] * q[1] * q[2]);
  if (splitsOf(d)) {
    c.setParam("splits", splitsOf(d));
    c.launch.grid[1] = uint32_t(splitsOf(d));
  }
  c.launch.block[0] = 32 * kWarps;
  return true;
}

bool choosePagedAttentionPartial(const KernelDesc &d, KernelChoice &c, std::string &error) {
  return choosePagedAttention(d, c, error);
}

bool instantiatePagedAttention(const KernelDesc &d, const KernelChoice &c, std::string &source,
                               std::string &error) {
  if (!checkPaged(d, error))
    return false;
  const auto &q = d.inputs[0].shape, &k = d.inputs[1].shape, &table = d.inputs[3].shape;
  DType t = d.inputs[0].dtype;
  const char *elem = storageType(t);
  const std::string cfg = "effc_paged_cfg_" + d.name;
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int B = ", q[0], ", HQ = ", q[1], ", S = ", q[2], ", D = ", q[3],
         ", NP = ", k[0], ", HKV = ", k[1], ", PS = ", k[2], ", MB = ", table[1],
         ", GROUP = ", q[1] / k[1], ";");
  const std::vector<Extent> qe = d.inputs[0].extents();
  w.line("static __device__ __forceinline__ i64 batch(const long long *effc_dims) { return ",
         qe[0].text(), "; }");
  w.line("static __device__ __forceinline__ i64 seq(const long long *effc_dims) { return ",
         qe[2].text(), "; }");
  w.line("static constexpr bool CAUSAL = ", d.intAttr("causal", 1) != 0 ? "true" : "false", ";");
  w.line("static constexpr i64 WINDOW = ", d.intAttr("window", 0), ";");
  w.line("static constexpr float SCALE = ", floatLit(float(d.floatAttr("scale", 1.0))), ";");
  w.line("static __device__ __forceinline__ float ld(const void *p, i64 i) { return ",
         loadAs(t, std::string("((const ") + elem + "*)p)", "i", Compute::F32), "; }");
  if (!splitsOf(d)) { // y's row (b, h, s) through out_perm (checkPaged validated it)
    std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, error);
    const std::array<Extent, 3> ost = attentionOutputStrides(*perm, d.outputs[0].extents());
    w.line("static __device__ __forceinline__ i64 y_row(i64 b, i64 h, i64 s, const long long "
           "*effc_dims) { return b * (",
           ost[0].text(), ") + h * (", ost[1].text(), ") + s * (", ost[2].text(), "); }");
  }
  w.line("static __device__ __forceinline__ void st(void *p, i64 i, float v) { ((", elem,
         "*)p)[i] = ", storeValue(t, "v", Compute::F32), "; }");
  w.line("static __device__ __forceinline__ i64 page(const void *p, i64 i) { return (i64)((const ",
         storageType(d.inputs[3].dtype), "*)p)[i]; }");
  w.line("static __device__ __forceinline__ i64 len(const void *p, i64 i) { return (i64)((const ",
         storageType(d.inputs[4].dtype), "*)p)[i]; }");
  w.close("};");
  openKernel(w, d, c.threads());
  const char *dims = d.usesDims() ? "effc_dims" : "nullptr";
  w.line("// ", q[0], "x", q[1], "x", q[2], " query rows over pages of ", k[2], " positions (",
         k[0], " in the pool, ", table[1], " per row), head dim ", q[3], ", GQA group ",
         q[1] / k[1]);
  if (const int64_t splits = splitsOf(d)) {
    // Whole pages per split, as the op defines its chunks.
    const int64_t chunk = (table[1] + splits - 1) / splits * k[2];
    w.line("// ", splits, " splits of ", chunk, " positions");
    w.line("effc_paged::paged_attention_split_row<", cfg, ", ", kWarps, ", ", splits, ", ", chunk,
           ">(in0, in1, in2, in3, in4, (float *)out0, (float *)out1, ", dims, ");");
  } else {
    w.line("effc_paged::paged_attention_row<", cfg, ", ", kWarps,
           ">(in0, in1, in2, in3, in4, out0, ", dims, ");");
  }
  w.close();
  source = std::string(deviceFile("paged_attention.cuh")) + "\n" + w.str();
  return true;
}

bool instantiatePagedAttentionPartial(const KernelDesc &d, const KernelChoice &c,
                                      std::string &source, std::string &error) {
  return instantiatePagedAttention(d, c, source, error);
}

} // namespace effc::codegen
