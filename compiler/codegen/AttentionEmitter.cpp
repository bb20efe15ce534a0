//===- AttentionEmitter.cpp - eff.attention -------------------------------===//
//
// FlashAttention-2 (attention/FlashAttention.h: mma.sync tensor cores, fp32
// accumulation) for f16/bf16 q/k/v whenever the generator supports the spec.
// fp32 models keep the fp32 kernel below: FA2 rounds f32 operands to f16,
// which the fp32 checks (rtol 1e-4) do not allow; EFFC_FA2_F32=1 in effc's
// environment opts fp32 into FA2 (to measure it). Decode-shaped attention
// (short q, long KV) reaches the split-KV decode kernels as the op pair
// eff-split-kv-decode rewrites it into (SplitKvAttentionEmitter.cpp). With
// bounded symbolic dims the spec holds the upper bounds and FA2 reads the
// run's batch, query and key lengths from effc_dims (AttentionRuntimeExtents).
//
// The fallback (and fp32) kernel, straightforward: one block per (batch, query head,
// tile of up to 8 query rows); one warp per query row. K/V stream through
// shared memory in tiles of up to 32 keys: lane j scores key j of the tile
// (q row broadcast from shared memory, K rows padded against bank
// conflicts), then the warp does one online-softmax update per tile (fp32
// running max m, sum l, rescale of the Dv accumulator spread over lanes) and
// accumulates p_j * V[j] with p_j broadcast by shuffles. Causal and window
// limits also bound the key range of the whole block. GQA: head h reads kv
// head h / (Hq / Hkv). A row with no allowed key gives zeros (as the host).
//
#include "compiler/codegen/AttentionDesc.h"
#include "compiler/codegen/Families.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace effc::codegen {
namespace {

bool isHalfType(DType t) { return t == DType::FLOAT16 || t == DType::BFLOAT16; }

/// True when the FA2 forward kernel runs `spec` (dtypes, shapes and mask
/// supported).
bool flashForwardApplies(const KernelDesc &d, const AttentionSpec &spec) {
  DType t = spec.dtype;
  if (d.inputs[1].dtype != t || d.inputs[2].dtype != t || d.outputs[0].dtype != t)
    return false;
  const char *f32Opt = std::getenv("EFFC_FA2_F32");
  if (!isHalfType(t) && !(t == DType::FLOAT32 && f32Opt && std::string(f32Opt) == "1"))
    return false;
  return flashAttentionUnsupported(spec).empty();
}

/// The attention spec of an eff.attention.
bool attentionSpec(const KernelDesc &d, AttentionSpec &out, std::string &error) {
  if (d.outputs.size() != 1) {
    error = d.op + ": expected one output";
    return false;
  }
  std::optional<AttentionSpec> spec = attentionSpecOf(d, error);
  if (!spec)
    return false;
  if (spec->B > 65535 || spec->Hq > 65535) {
    error = d.op + ": batch and heads must be <= 65535";
    return false;
  }
  out = *spec;
  return true;
}

/// The fallback kernel's tiles: up to 8 query rows (warps) per block, key
/// tiles of up to 32 (one per lane) while the static shared memory stays
/// under 48 KiB.
bool chooseFallback(const KernelDesc &d, const AttentionSpec &spec, KernelChoice &c,
                    std::string &error) {
  const int64_t S = spec.S, D = spec.D, Dv = spec.Dv;
  int64_t rows = std::clamp<int64_t>(S, 1, 8), kt = 32;
  auto smem = [&](int64_t t) { return 4 * (rows * D + t * (D + 1) + t * Dv); };
  while (smem(kt) > 46 * 1024 && kt > 4)
    kt /= 2;
  if (smem(kt) > 46 * 1024) {
    error = d.op + ": head dims " + std::to_string(D) + "/" + std::to_string(Dv) +
            " are too large for this kernel";
    return false;
  }
  c.variant = "warp-per-query-row";
  c.setParam("rows", rows);
  c.setParam("key_tile", kt);
  c.launch.grid[0] = uint32_t(std::max<int64_t>(1, ceilDiv(S, rows)));
  c.launch.grid[1] = uint32_t(std::max<int64_t>(1, spec.Hq));
  c.launch.grid[2] = uint32_t(std::max<int64_t>(1, spec.B));
  c.launch.block[0] = uint32_t(32 * rows);
  if (d.usesDims()) { // query-row tiles and batch of this run
    c.launch.followRuntime(0, d.inputs[0].extents()[2], rows, c.launch.grid[0]);
    c.launch.followRuntime(2, d.inputs[0].extents()[0], 1, c.launch.grid[2]);
  }
  return true;
}

/// The fallback kernel's text for the tiles in `c`.
bool emitFallback(const KernelDesc &d, const AttentionSpec &specValue, const KernelChoice &c,
                  std::string &source) {
  const AttentionSpec *spec = &specValue;
  const TensorDesc &q = d.inputs[0], &k = d.inputs[1], &v = d.inputs[2];
  const int64_t Hq = spec->Hq, D = spec->D, Hkv = spec->Hkv, Dv = spec->Dv;
  // Batch, query and key lengths may be runtime extents (effc_dims; the
  // grid covers their largest values); heads and head dims are static.
  const bool runtime = d.usesDims();
  const Extent B = q.extents()[0], S = q.extents()[2], L = k.extents()[2];
  const float scale = spec->scale;
  const bool causal = spec->causal, hasMask = d.hasInput(3),
             boolMask = spec->mask == AttentionMask::Bool;
  const int64_t window = spec->window;
  std::array<Extent, 4> mst;
  for (int r = 0; r < 4; ++r)
    mst[r] = spec->maskStrides[r];
  if (hasMask && d.inputs[3].symbolic()) {
    // The mask's row-major strides at this run's extents, 0 where it
    // broadcasts (as packedAttentionSpec, with extents).
    const std::vector<Extent> ms = d.inputs[3].extents();
    const size_t off = 4 - ms.size();
    Extent stride = 1;
    for (size_t r = ms.size(); r-- > 0;) {
      mst[off + r] = ms[r] == 1 ? Extent(0) : stride;
      stride *= ms[r];
    }
  }

  const int64_t rows = c.param("rows"), kt = c.param("key_tile");
  const int64_t dvLanes = std::max<int64_t>(1, ceilDiv(Dv, 32));
  const int threads = c.threads();

  CudaWriter w;
  std::string ix = indexType(d);
  openKernel(w, d, threads);
  w.line("// q ", shapeText(q.shape), " k ", shapeText(k.shape), " v ", shapeText(v.shape),
         causal ? " causal" : "", window ? " window=" + std::to_string(window) : "",
         spec->softcap > 0 ? " softcap=" + floatLit(spec->softcap) : "",
         spec->alibiSlopes.empty() ? "" : " alibi", spec->sinks.empty() ? "" : " sinks",
         hasMask ? (boolMask ? " bool mask" : " additive mask") : "");
  w.line("__shared__ float qs[", rows, "][", D, "];");
  w.line("__shared__ float ks[", kt, "][", D + 1, "];  // +1: lane j reads row j conflict-free");
  w.line("__shared__ float vs[", kt, "][", Dv, "];");
  w.line("const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;");
  w.line("const int b = blockIdx.z, h = blockIdx.y, hk = h / ", Hq / Hkv, ";");
  w.line("const int i0 = blockIdx.x * ", rows, ", i = i0 + warp;");
  if (runtime) // blocks past this run's batch or query rows (whole blocks: no barrier missed)
    w.line("if (i0 >= ", S, " || b >= ", B, ") return;");
  w.line("const bool live = i < ", S, ";");
  w.line("const int pos = i + ", L - S, ";  // queries are the last S positions");
  // One value per query head (ALiBi slope, sink logit): this block's head.
  auto headValue = [&](const char *name, const std::vector<float> &values) {
    std::string table;
    for (float value : values)
      table += (table.empty() ? "" : ", ") + floatLit(value);
    w.line("const float ", name, "s[", int64_t(values.size()), "] = {", table, "};");
    w.line("const float ", name, " = ", name, "s[h];");
  };
  if (!spec->alibiSlopes.empty()) // ALiBi: slope_h * (j - pos)
    headValue("alibiSlope", spec->alibiSlopes);
  if (!spec->sinks.empty())
    headValue("sink", spec->sinks);
  w.line("const ", ix, " qBase = ((", ix, ")(b * ", Hq, " + h) * ", S, ") * ", D, ";");
  // K/V in session state (effc --kv-state): [b, h] slices `capacity` rows apart.
  const Extent kRows = k.capacity ? Extent(k.capacity) : Extent(L),
               vRows = v.capacity ? Extent(v.capacity) : Extent(L);
  w.line("const ", ix, " kBase = ((", ix, ")(b * ", Hkv, " + hk) * ", kRows, ") * ", D, ";");
  w.line("const ", ix, " vBase = ((", ix, ")(b * ", Hkv, " + hk) * ", vRows, ") * ", Dv, ";");
  w.open("for (int e = threadIdx.x; e < ", rows * D, "; e += ", threads, ") {");
  w.line("const int r = e / ", D, ", c = e % ", D, ";");
  w.line("qs[r][c] = i0 + r < ", S, " ? ",
         loadAs(q.dtype, "x0", "qBase + (" + ix + ")(i0 + r) * " + std::to_string(D) + " + c",
                Compute::F32),
         " : 0.0f;");
  w.close();
  // The keys any row of this block may see.
  w.line("int jBegin = 0, jEnd = ", L, ";");
  if (causal && runtime)
    w.line("jEnd = min(jEnd, int(min((long long)(i0 + ", rows, "), (long long)", S, ") - 1 + ",
           L - S, " + 1));");
  else if (causal)
    w.line("jEnd = min(jEnd, min(i0 + ", rows, ", ", S, ") - 1 + ", L - S, " + 1);");
  if (window > 0)
    w.line("jBegin = max(0, i0 + ", L - S, " - ", window, " + 1);");
  w.line("float m = -EFFC_INF_F, l = 0.0f;");
  w.line("float acc[", dvLanes, "];");
  w.line("#pragma unroll");
  w.line("for (int t = 0; t < ", dvLanes, "; ++t) acc[t] = 0.0f;");
  w.open("for (int j0 = jBegin; j0 < jEnd; j0 += ", kt, ") {");
  w.line("__syncthreads();  // previous tile fully consumed");
  w.open("for (int e = threadIdx.x; e < ", kt * D, "; e += ", threads, ") {");
  w.line("const int r = e / ", D, ", c = e % ", D, ";");
  w.line("ks[r][c] = j0 + r < ", L, " ? ",
         loadAs(k.dtype, "x1", "kBase + (" + ix + ")(j0 + r) * " + std::to_string(D) + " + c",
                Compute::F32),
         " : 0.0f;");
  w.close();
  w.open("for (int e = threadIdx.x; e < ", kt * Dv, "; e += ", threads, ") {");
  w.line("const int r = e / ", Dv, ", c = e % ", Dv, ";");
  w.line("vs[r][c] = j0 + r < ", L, " ? ",
         loadAs(v.dtype, "x2", "vBase + (" + ix + ")(j0 + r) * " + std::to_string(Dv) + " + c",
                Compute::F32),
         " : 0.0f;");
  w.close();
  w.line("__syncthreads();");
  w.line("const int j = j0 + lane;");
  w.line("float s = -EFFC_INF_F;");
  std::string allowed = "live && lane < " + std::to_string(kt) + " && j < jEnd";
  if (causal)
    allowed += " && j <= pos";
  if (window > 0)
    allowed += " && j > pos - " + std::to_string(window);
  w.open("if (", allowed, ") {");
  w.line("float dot = 0.0f;");
  w.line("#pragma unroll 8");
  w.line("for (int c = 0; c < ", D, "; ++c) dot += qs[warp][c] * ks[lane][c];");
  if (spec->softcap > 0) // c * tanh(scale * dot / c), before the mask
    w.line("s = ", floatLit(spec->softcap), " * tanhf(dot * ", floatLit(scale / spec->softcap),
           ");");
  else
    w.line("s = dot * ", floatLit(scale), ";");
  if (!spec->alibiSlopes.empty())
    w.line("s += alibiSlope * (float)(j - pos);");
  if (hasMask) {
    std::string mi;
    const char *coord[4] = {"b", "h", "i", "j"};
    for (int r = 0; r < 4; ++r)
      if (mst[r] != 0)
        mi += (mi.empty() ? "(" + ix + ")" : " + (" + ix + ")") + coord[r] + " * " + mst[r].text();
    if (mi.empty())
      mi = "0";
    if (boolMask)
      w.line("if (!x3[", mi, "]) s = -EFFC_INF_F;");
    else
      w.line("s += ", loadAs(d.inputs[3].dtype, "x3", mi, Compute::F32), ";");
  }
  w.close();
  w.line("const float mNew = fmaxf(m, warp_reduce(s, MaxOp()));");
  w.line("const float p = s == -EFFC_INF_F ? 0.0f : expf(s - mNew);");
  w.line("const float corr = m == -EFFC_INF_F ? 0.0f : expf(m - mNew);");
  w.line("l = l * corr + warp_reduce(p, SumOp());");
  w.line("m = mNew;");
  w.line("#pragma unroll");
  w.line("for (int t = 0; t < ", dvLanes, "; ++t) acc[t] *= corr;");
  w.open("for (int jj = 0; jj < ", kt, "; ++jj) {");
  w.line("const float pj = __shfl_sync(0xffffffffu, p, jj);");
  w.line("if (pj == 0.0f) continue;  // uniform across the warp");
  w.line("#pragma unroll");
  w.open("for (int t = 0; t < ", dvLanes, "; ++t) {");
  w.line("const int c = lane + 32 * t;");
  w.line("if (c < ", Dv, ") acc[t] += pj * vs[jj][c];");
  w.close();
  w.close();
  w.close(); // key tiles
  w.line("if (!live) return;");
  if (!spec->sinks.empty()) { // the sink joins the denominator once, with no value
    w.line("const float mSink = fmaxf(m, sink);");
    w.line("const float corrSink = m == -EFFC_INF_F ? 0.0f : expf(m - mSink);");
    w.line("l = l * corrSink + expf(sink - mSink);");
    w.line("#pragma unroll");
    w.line("for (int t = 0; t < ", dvLanes, "; ++t) acc[t] *= corrSink;");
  }
  w.line("const float invL = l > 0.0f ? 1.0f / l : 0.0f;");
  // y0 is [B, Hq, S, Dv] through out_perm: row (b, h, i) at these strides.
  std::string permError;
  std::optional<std::array<int64_t, 4>> perm = attentionOutPerm(d, permError);
  if (!perm)
    return false;
  const std::array<Extent, 3> ost = attentionOutputStrides(*perm, d.outputs[0].extents());
  w.line("const ", ix, " yBase = (", ix, ")b * (", ost[0].text(), ") + (", ix, ")h * (",
         ost[1].text(), ") + (", ix, ")i * (", ost[2].text(), ");");
  w.line("#pragma unroll");
  w.open("for (int t = 0; t < ", dvLanes, "; ++t) {");
  w.line("const int c = lane + 32 * t;");
  w.line("if (c < ", Dv,
         ") y0[yBase + c] = ", storeValue(d.outputs[0].dtype, "acc[t] * invL", Compute::F32), ";");
  w.close();
  w.close(); // kernel
  source = w.str();
  return true;
}

} // namespace

bool chooseAttention(const KernelDesc &d, KernelChoice &c, std::string &error) {
  AttentionSpec spec;
  if (!attentionSpec(d, spec, error))
    return false;
  std::optional<AttentionRuntimeExtents> runtime;
  if (!d.usesDims() && (d.inputs[1].capacity || d.inputs[2].capacity)) {
    error = d.op + ": keys/values in session state need runtime extents";
    return false;
  }
  if (d.usesDims()) {
    // Runtime batch, query and key lengths: both kernels read them from
    // effc_dims.
    runtime = attentionRuntimeExtentsOf(d, error);
    if (!runtime)
      return false;
  }
  if (!flashForwardApplies(d, spec))
    return chooseFallback(d, spec, c, error);
  const FlashForwardConfig config = chooseFlashForwardConfig(resolveAttentionStrides(spec));
  c.variant = "flash-attention-2";
  c.setParam("block_m", config.blockM);
  c.setParam("block_n", config.blockN);
  c.setParam("warps", config.warps);
  c.setParam("stages", config.stages);
  c.launch = flashAttentionForwardLaunch(spec, runtime ? &*runtime : nullptr);
  c.needsAttentionPrelude = true;
  return true;
}

bool instantiateAttention(const KernelDesc &d, const KernelChoice &c, std::string &source,
                          std::string &error) {
  AttentionSpec spec;
  if (!attentionSpec(d, spec, error))
    return false;
  if (c.variant != "flash-attention-2")
    return emitFallback(d, spec, c, source);
  std::optional<AttentionRuntimeExtents> runtime;
  if (d.usesDims() && !(runtime = attentionRuntimeExtentsOf(d, error)))
    return false;
  std::string text =
      emitFlashAttentionForward(spec, d.name, nullptr, &error, runtime ? &*runtime : nullptr);
  if (text.empty())
    return false;
  source = "// " + d.op + "\n" + text;
  return true;
}

} // namespace effc::codegen
