//===- FlashAttention.cpp - the FA2 forward kernel and config structs -----===//
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/attention/AttentionTemplates.h"
#include "compiler/codegen/core/CudaWriter.h"

#include <algorithm>
#include <string>

namespace effc::codegen {

std::string attentionConfigCommon(const AttentionSpec &sp) {
  auto I = [](int64_t v) { return std::to_string(v); };
  const bool f32 = sp.dtype == DType::FLOAT32;
  const bool bf = sp.dtype == DType::BFLOAT16; // f32 storage computes in f16
  int mask = 0;
  if (sp.mask == AttentionMask::Bool)
    mask = 1;
  else if (sp.mask == AttentionMask::Additive)
    mask = sp.maskDType == DType::FLOAT32 ? 2 : sp.maskDType == DType::FLOAT16 ? 3 : 4;
  // A window at least L wide cuts nothing (pos - window < 0 <= j).
  const int64_t window = sp.window >= sp.L ? 0 : sp.window;
  const double log2e = 1.4426950408889634;
  // Additive masks, soft-capping, ALiBi and sinks work on scores in natural
  // units.
  const bool alibi = !sp.alibiSlopes.empty(), sinks = !sp.sinks.empty();
  const bool natural = mask >= 2 || sp.softcap > 0 || alibi || sinks;
  const float cexp = natural ? float(log2e) : float(double(sp.scale) * log2e);
  std::string s;
  s += std::string("  typedef ") + (f32 ? "float" : "effc_attn::u16") + " Elem;\n";
  s += std::string("  static constexpr bool BF = ") + (bf ? "true" : "false") +
       ", OUT_BF = " + (bf ? "true" : "false") + ";\n";
  s += "  static constexpr int D = " + I(sp.D) + ", DP = " + I(roundUpTo(sp.D, 16)) +
       ", DV = " + I(sp.Dv) + ", DVP = " + I(roundUpTo(sp.Dv, 16)) + ";\n";
  s += "  static constexpr int B = " + I(sp.B) + ", S = " + I(sp.S) + ", L = " + I(sp.L) +
       ", HQ = " + I(sp.Hq) + ", HKV = " + I(sp.Hkv) + ", GROUP = " + I(sp.Hq / sp.Hkv) + ";\n";
  auto strides = [&](const char *p, const AttentionStrides &st) {
    return std::string("  static constexpr effc_attn::i64 ") + p + "B = " + I(st.batch) + ", " + p +
           "H = " + I(st.head) + ", " + p + "S = " + I(st.seq) + ";\n";
  };
  s += strides("Q", sp.q) + strides("K", sp.k) + strides("V", sp.v) + strides("O", sp.o);
  s += std::string("  static constexpr bool CAUSAL = ") + (sp.causal ? "true" : "false") + ";\n";
  s += "  static constexpr int WINDOW = " + I(window) + ", MASK = " + I(mask) + ";\n";
  const auto &m = sp.maskStrides;
  s += "  static constexpr effc_attn::i64 MB = " + I(mask ? m[0] : 0) +
       ", MH = " + I(mask ? m[1] : 0) + ", MS = " + I(mask ? m[2] : 0) +
       ", ML = " + I(mask ? m[3] : 0) + ";\n";
  s += "  static constexpr float SCALE = " + floatLit(sp.scale) + ", C_EXP = " + floatLit(cexp) +
       ";  // exp(x) = 2^(x * C_EXP)\n";
  s += "  static constexpr float SOFTCAP = " + floatLit(sp.softcap) + ";  // 0: none\n";
  // ALiBi: query head h adds slope_h * (j - pos); one slope per CTA row
  // block, so a local table is cheap.
  // Sinks: one logit per query head, added to the denominator once per row.
  auto perHeadTable = [&](const char *flag, const char *fn, const std::vector<float> &values) {
    s += std::string("  static constexpr bool ") + flag + " = " +
         (values.empty() ? "false" : "true") + ";\n";
    s += std::string("  static __device__ __forceinline__ float ") + fn + "(int h) {";
    if (values.empty()) {
      s += " return 0.0f; }\n";
      return;
    }
    s += " const float table[" + I(int64_t(values.size())) + "] = {";
    for (size_t i = 0; i < values.size(); ++i)
      s += (i ? ", " : "") + floatLit(values[i]);
    s += "}; return table[h]; }\n";
  };
  perHeadTable("ALIBI", "alibi_slope", sp.alibiSlopes);
  perHeadTable("SINKS", "sink", sp.sinks);
  return s;
}

std::string attentionRuntimeConfig(const AttentionRuntimeExtents &rt) {
  auto T = [](const Extent &e) { return e.text(); };
  std::string s =
      "  static constexpr bool RUNTIME_DIMS = true;  // the constants above are bounds\n";
  s +=
      "  static __device__ __forceinline__ effc_attn::attn_ext extents(const long long* effc_dims) "
      "{\n";
  s += "    (void)effc_dims;\n";
  s += "    return effc_attn::attn_ext{int(" + T(rt.B) + "), int(" + T(rt.S) + "), int(" + T(rt.L) +
       ")";
  for (const auto *st : {&rt.q, &rt.k, &rt.v, &rt.o})
    for (const Extent &e : *st)
      s += ", " + T(e);
  for (const Extent &e : rt.mask)
    s += ", " + T(e);
  return s + "};\n  }\n";
}

std::string attentionParams(const AttentionSpec &sp, bool workspace, bool runtimeDims) {
  std::string p =
      "(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, ";
  if (sp.mask != AttentionMask::None || sp.maskParam)
    p += "const void* __restrict__ in3, ";
  p += "void* __restrict__ out0";
  if (workspace)
    p += ", void* __restrict__ out1";
  if (runtimeDims)
    p += ", const long long* __restrict__ effc_dims";
  return p + ")";
}

std::string attentionMaskArg(const AttentionSpec &sp) {
  return sp.mask != AttentionMask::None ? "in3" : "nullptr";
}

static std::string describe(const AttentionSpec &sp) {
  auto I = [](int64_t v) { return std::to_string(v); };
  std::string d = "q [" + I(sp.B) + "," + I(sp.Hq) + "," + I(sp.S) + "," + I(sp.D) + "] kv [" +
                  I(sp.B) + "," + I(sp.Hkv) + "," + I(sp.L) + "," + I(sp.D) + "/" + I(sp.Dv) + "]";
  d += sp.dtype == DType::BFLOAT16  ? " bf16"
       : sp.dtype == DType::FLOAT16 ? " f16"
                                    : " f32(->f16 mma)";
  if (sp.causal)
    d += " causal";
  if (sp.window)
    d += " window=" + I(sp.window);
  if (sp.softcap > 0)
    d += " softcap=" + floatLit(sp.softcap);
  if (!sp.alibiSlopes.empty())
    d += " alibi";
  if (!sp.sinks.empty())
    d += " sinks";
  if (sp.mask == AttentionMask::Bool)
    d += " bool-mask";
  if (sp.mask == AttentionMask::Additive)
    d += " additive-mask";
  return d;
}

namespace {

/// Query-row tiles on x, heads on y, batch on z; the config's warps and
/// shared memory.
LaunchDims forwardLaunch(const AttentionSpec &sp, const FlashForwardConfig &c,
                         const AttentionRuntimeExtents *rt) {
  LaunchDims launch;
  launch.grid[0] = uint32_t((sp.S + c.blockM - 1) / c.blockM);
  launch.grid[1] = uint32_t(sp.Hq);
  launch.grid[2] = uint32_t(sp.B);
  launch.block[0] = uint32_t(32 * c.warps);
  launch.sharedBytes = uint32_t(c.sharedBytes);
  if (rt) { // query-row tiles and batch of this run
    launch.followRuntime(0, rt->S, c.blockM, launch.grid[0]);
    launch.followRuntime(2, rt->B, 1, launch.grid[2]);
  }
  return launch;
}

/// The forward config of `sp`; runtime extents need the edge checks.
FlashForwardConfig forwardConfig(const AttentionSpec &sp, const AttentionRuntimeExtents *rt) {
  FlashForwardConfig c = chooseFlashForwardConfig(sp);
  if (rt)
    c.staticEdges = false;
  return c;
}

} // namespace

LaunchDims flashAttentionForwardLaunch(const AttentionSpec &spec,
                                       const AttentionRuntimeExtents *runtime) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  return forwardLaunch(sp, forwardConfig(sp, runtime), runtime);
}

std::string emitFlashAttentionForward(const AttentionSpec &spec, const std::string &name,
                                      LaunchDims *launch, std::string *error,
                                      const AttentionRuntimeExtents *runtime) {
  std::string why = flashAttentionUnsupported(spec);
  if (why.empty() && spec.forwardConfig) {
    why = flashForwardConfigError(spec, *spec.forwardConfig);
    if (!why.empty())
      why = "forward config " + flashForwardConfigName(*spec.forwardConfig) + ": " + why;
  }
  if (!why.empty()) {
    if (error)
      *error = why;
    return "";
  }
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const FlashForwardConfig c = forwardConfig(sp, runtime);
  const int64_t dmax = std::max(roundUpTo(sp.D, 16), roundUpTo(sp.Dv, 16));
  auto I = [](int64_t v) { return std::to_string(v); };
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s;
  s += "// FlashAttention-2 forward: " + describe(sp) +
       (runtime ? " (bounds; runtime extents)" : "") + "\n";
  s += "// tiles BM=" + I(c.blockM) + " BN=" + I(c.blockN) + " warps=" + I(c.warps) +
       " stages=" + I(c.stages) + (c.qInRegisters ? " q-in-registers" : "") + ", " +
       I(c.sharedBytes) + " B shared" +
       (sp.forwardConfig ? " (forced " + flashForwardConfigName(c) + ")" : "") + "\n";
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp);
  s += "  static constexpr int BM = " + I(c.blockM) + ", BN = " + I(c.blockN) +
       ", NW = " + I(c.warps) + ", STAGES = " + I(c.stages) + ", QROW = " + I(dmax + 8) + ";\n";
  s += std::string("  static constexpr bool QREGS = ") + (c.qInRegisters ? "true" : "false") +
       ", REVERSE_M = " + (sp.causal ? "true" : "false") + ";\n";
  s += std::string("  static constexpr bool STATIC_EDGES = ") + (c.staticEdges ? "true" : "false") +
       "; static constexpr int RESCALE = " + I(c.rescale) + ";\n";
  if (runtime)
    s += attentionRuntimeConfig(*runtime);
  s += "};\n";
  s += "EFFC_KERNEL void __launch_bounds__(" + I(32 * c.warps) +
       (c.minBlocksPerSM ? ", " + I(c.minBlocksPerSM) : std::string()) + ") " + name +
       attentionParams(sp, false, runtime != nullptr) + " {\n";
  s += "  effc_attn::fa2_forward<" + cfg + ">(in0, in1, in2, " + attentionMaskArg(sp) + ", out0" +
       (runtime ? ", effc_dims" : "") + ");\n}\n";
  if (launch)
    *launch = forwardLaunch(sp, c, runtime);
  return s;
}

} // namespace effc::codegen
