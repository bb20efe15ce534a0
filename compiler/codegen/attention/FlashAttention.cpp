//===- FlashAttention.cpp - spec checks, tiles, the FA2 forward kernel ----===//
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/attention/AttentionTemplates.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace effc::codegen {

int64_t roundUpTo(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

std::string attentionFloatLit(float v) {
  if (std::isinf(v))
    return v > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9gf", double(v));
  std::string s = buf;
  // "1f" is not a float literal; "1.f" is.
  if (s.find_first_of(".eE") == std::string::npos)
    s.insert(s.size() - 1, ".");
  return s;
}

AttentionSpec resolveAttentionStrides(AttentionSpec s) {
  auto fill = [](AttentionStrides &st, int64_t heads, int64_t seq, int64_t dim) {
    if (!st.isZero())
      return;
    st.seq = dim;
    st.head = seq * dim;
    st.batch = heads * seq * dim;
  };
  fill(s.q, s.Hq, s.S, s.D);
  fill(s.k, s.Hkv, s.L, s.D);
  fill(s.v, s.Hkv, s.L, s.Dv);
  fill(s.o, s.Hq, s.S, s.Dv);
  return s;
}

std::string flashAttentionUnsupported(const AttentionSpec &sp) {
  if (sp.dtype != DType::FLOAT16 && sp.dtype != DType::BFLOAT16 && sp.dtype != DType::FLOAT32)
    return "storage dtype must be f16, bf16 or f32";
  if (sp.B < 1 || sp.Hq < 1 || sp.Hkv < 1 || sp.S < 1 || sp.L < 1)
    return "empty shape";
  if (sp.Hq % sp.Hkv)
    return "q heads must be a multiple of kv heads";
  if (sp.D % 8 || sp.Dv % 8 || sp.D > 256 || sp.Dv > 256)
    return "head dims must be multiples of 8 up to 256 (16-byte rows)";
  if (sp.B > 65535 || sp.Hq > 65535)
    return "batch and heads must be <= 65535 (grid y/z)";
  const int64_t big = int64_t(1) << 30;
  if (sp.S >= big || sp.L >= big)
    return "sequence lengths must be < 2^30";
  if (sp.window < 0)
    return "window must be >= 0";
  if (sp.mask == AttentionMask::Additive && sp.maskDType != DType::FLOAT32 &&
      sp.maskDType != DType::FLOAT16 && sp.maskDType != DType::BFLOAT16)
    return "additive mask must be f32, f16 or bf16";
  AttentionSpec r = resolveAttentionStrides(sp);
  for (const AttentionStrides *st : {&r.q, &r.k, &r.v, &r.o})
    if (st->batch % 8 || st->head % 8 || st->seq % 8)
      return "strides must be multiples of 8 elements (16-byte aligned rows)";
  if (!std::isfinite(sp.scale) || sp.scale <= 0)
    return "scale must be finite and > 0";
  return "";
}

static int64_t sharedLimit(int sm) {
  if (sm >= 90)
    return 227 * 1024;
  if (sm == 80 || sm == 87)
    return 163 * 1024;
  return 99 * 1024;
}

FlashForwardConfig chooseFlashForwardConfig(const AttentionSpec &sp) {
  FlashForwardConfig c;
  const int64_t DP = roundUpTo(sp.D, 16), DVP = roundUpTo(sp.Dv, 16), dmax = std::max(DP, DVP);
  // Registers per thread: O = MI*DVP/2, S = MI*BN/2 (MI = 16-row slices per
  // warp). Two slices per warp (BM=128, 4 warps) halve the shared-memory
  // traffic per MMA, which is what bounds mma.sync attention on H100; only
  // d > 128 needs one slice (8 warps) to keep O in registers.
  if (dmax <= 64) {
    c.blockM = 128, c.blockN = 64, c.warps = 4, c.qInRegisters = true;
  } else if (dmax <= 128) {
    c.blockM = 128, c.blockN = 64, c.warps = 4;
  } else {
    c.blockM = 128, c.blockN = 64, c.warps = 8;
  }
  // Short queries or too few CTAs to fill the GPU: one slice per warp.
  int64_t ctas = (sp.S + c.blockM - 1) / c.blockM * sp.B * sp.Hq;
  if (c.warps == 4 && (sp.S <= 64 || ctas < sp.numSMs))
    c.blockM = 64, c.qInRegisters = false;
  c.stages = 2;
  const int64_t qrow = dmax + 8;
  auto smem = [&] { return c.blockM * qrow * 2 + c.stages * c.blockN * (DP + 8 + DVP + 8) * 2; };
  while (smem() > sharedLimit(sp.sm) && c.blockN > 16)
    c.blockN /= 2;
  c.sharedBytes = smem();
  c.ctasPerSM = int(std::max<int64_t>(1, std::min<int64_t>(228 * 1024 / (c.sharedBytes + 1024), 2048 / (32 * c.warps))));
  return c;
}

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
  const float cexp = mask >= 2 ? float(log2e) : float(double(sp.scale) * log2e);
  std::string s;
  s += std::string("  typedef ") + (f32 ? "float" : "effc_attn::u16") + " Elem;\n";
  s += std::string("  static constexpr bool BF = ") + (bf ? "true" : "false") + ", OUT_BF = " + (bf ? "true" : "false") + ";\n";
  s += "  static constexpr int D = " + I(sp.D) + ", DP = " + I(roundUpTo(sp.D, 16)) + ", DV = " + I(sp.Dv) +
       ", DVP = " + I(roundUpTo(sp.Dv, 16)) + ";\n";
  s += "  static constexpr int B = " + I(sp.B) + ", S = " + I(sp.S) + ", L = " + I(sp.L) + ", HQ = " + I(sp.Hq) +
       ", HKV = " + I(sp.Hkv) + ", GROUP = " + I(sp.Hq / sp.Hkv) + ";\n";
  auto strides = [&](const char *p, const AttentionStrides &st) {
    return std::string("  static constexpr effc_attn::i64 ") + p + "B = " + I(st.batch) + ", " + p + "H = " + I(st.head) +
           ", " + p + "S = " + I(st.seq) + ";\n";
  };
  s += strides("Q", sp.q) + strides("K", sp.k) + strides("V", sp.v) + strides("O", sp.o);
  s += std::string("  static constexpr bool CAUSAL = ") + (sp.causal ? "true" : "false") + ";\n";
  s += "  static constexpr int WINDOW = " + I(window) + ", MASK = " + I(mask) + ";\n";
  const auto &m = sp.maskStrides;
  s += "  static constexpr effc_attn::i64 MB = " + I(mask ? m[0] : 0) + ", MH = " + I(mask ? m[1] : 0) +
       ", MS = " + I(mask ? m[2] : 0) + ", ML = " + I(mask ? m[3] : 0) + ";\n";
  s += "  static constexpr float SCALE = " + attentionFloatLit(sp.scale) + ", C_EXP = " + attentionFloatLit(cexp) +
       ";  // exp(x) = 2^(x * C_EXP)\n";
  return s;
}

std::string attentionParams(const AttentionSpec &sp, bool workspace) {
  std::string p = "(const void* __restrict__ in0, const void* __restrict__ in1, const void* __restrict__ in2, ";
  if (sp.mask != AttentionMask::None || sp.maskParam)
    p += "const void* __restrict__ in3, ";
  p += "void* __restrict__ out0";
  if (workspace)
    p += ", void* __restrict__ out1";
  return p + ")";
}

std::string attentionMaskArg(const AttentionSpec &sp) {
  return sp.mask != AttentionMask::None ? "in3" : "nullptr";
}

static std::string describe(const AttentionSpec &sp) {
  auto I = [](int64_t v) { return std::to_string(v); };
  std::string d = "q [" + I(sp.B) + "," + I(sp.Hq) + "," + I(sp.S) + "," + I(sp.D) + "] kv [" + I(sp.B) + "," +
                  I(sp.Hkv) + "," + I(sp.L) + "," + I(sp.D) + "/" + I(sp.Dv) + "]";
  d += sp.dtype == DType::BFLOAT16 ? " bf16" : sp.dtype == DType::FLOAT16 ? " f16" : " f32(->f16 mma)";
  if (sp.causal)
    d += " causal";
  if (sp.window)
    d += " window=" + I(sp.window);
  if (sp.mask == AttentionMask::Bool)
    d += " bool-mask";
  if (sp.mask == AttentionMask::Additive)
    d += " additive-mask";
  return d;
}

std::string emitFlashAttentionForward(const AttentionSpec &spec, const std::string &name, LaunchDims *launch) {
  if (!flashAttentionUnsupported(spec).empty())
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const FlashForwardConfig c = chooseFlashForwardConfig(sp);
  const int64_t dmax = std::max(roundUpTo(sp.D, 16), roundUpTo(sp.Dv, 16));
  auto I = [](int64_t v) { return std::to_string(v); };
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s;
  s += "// FlashAttention-2 forward: " + describe(sp) + "\n";
  s += "// tiles BM=" + I(c.blockM) + " BN=" + I(c.blockN) + " warps=" + I(c.warps) + " stages=" + I(c.stages) +
       (c.qInRegisters ? " q-in-registers" : "") + ", " + I(c.sharedBytes) + " B shared\n";
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp);
  s += "  static constexpr int BM = " + I(c.blockM) + ", BN = " + I(c.blockN) + ", NW = " + I(c.warps) +
       ", STAGES = " + I(c.stages) + ", QROW = " + I(dmax + 8) + ";\n";
  s += std::string("  static constexpr bool QREGS = ") + (c.qInRegisters ? "true" : "false") +
       ", REVERSE_M = " + (sp.causal ? "true" : "false") + ";\n";
  s += "};\n";
  s += "extern \"C\" __global__ void __launch_bounds__(" + I(32 * c.warps) + ") " + name +
       attentionParams(sp, false) + " {\n";
  s += "  effc_attn::fa2_forward<" + cfg + ">(in0, in1, in2, " + attentionMaskArg(sp) + ", out0);\n}\n";
  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t((sp.S + c.blockM - 1) / c.blockM);
    launch->grid[1] = uint32_t(sp.Hq);
    launch->grid[2] = uint32_t(sp.B);
    launch->block[0] = uint32_t(32 * c.warps);
    launch->sharedBytes = uint32_t(c.sharedBytes);
  }
  return s;
}

double attentionFlops(const AttentionSpec &sp) {
  double f = 2.0 * double(sp.B) * double(sp.Hq) * double(sp.S) * double(sp.L) * double(sp.D + sp.Dv);
  if (sp.causal && sp.S == sp.L)
    f *= 0.5;
  return f;
}

} // namespace effc::codegen
