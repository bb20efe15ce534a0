// The attention generators: spec checks, tile and split choice, and NVRTC
// compiles of a spread of specs (head dims 64..256, dtypes, causal, window,
// GQA, masks, q != kv length, strided views, decode) for sm_80 and sm_90. No
// GPU needed; the compile tests are skipped when libnvrtc cannot be loaded.
// Numerics are checked on the GPU by bench/attention (effc-attention-bench).
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/core/CudaWriter.h"
#include "cuda/Nvrtc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

using namespace effc;
using namespace effc::codegen;

namespace {

#define REQUIRE_NVRTC()                                                                            \
  do {                                                                                             \
    Status st = nvrtc::load();                                                                     \
    if (!st.ok())                                                                                  \
      FAIL() << "libnvrtc not loadable: " << st.message();                                         \
  } while (0)

AttentionSpec attn(int64_t b, int64_t hq, int64_t hkv, int64_t s, int64_t l, int64_t d, DType t) {
  AttentionSpec a;
  a.B = b, a.Hq = hq, a.Hkv = hkv, a.S = s, a.L = l, a.D = d, a.Dv = d;
  a.dtype = t;
  a.scale = float(1.0 / std::sqrt(double(d)));
  return a;
}

struct Named {
  std::string name;
  AttentionSpec spec;
};

const char *shortType(DType t) {
  return t == DType::BFLOAT16 ? "bf16" : t == DType::FLOAT16 ? "f16" : "f32";
}

/// Every head dim x dtype, with the features rotated over them so each head
/// dim meets causal, window, GQA and both mask kinds somewhere.
std::vector<Named> forwardSpread() {
  std::vector<Named> out;
  int id = 0;
  auto add = [&](const std::string &what, const AttentionSpec &s) {
    out.push_back({"fa_" + std::to_string(id++) + "_" + what, s});
  };
  const DType types[] = {DType::BFLOAT16, DType::FLOAT16, DType::FLOAT32};
  int rot = 0;
  for (int64_t d : {64, 80, 96, 128, 256})
    for (DType t : types) {
      AttentionSpec s = attn(2, 8, 8 / (1 << (rot % 3)), 197, 197, d, t); // GQA 1, 2, 4
      std::string what = "d" + std::to_string(d) + "_" + shortType(t);
      switch (rot++ % 5) {
      case 0:
        s.causal = true, what += "_causal";
        break;
      case 1:
        s.window = 64, s.causal = true, what += "_swa";
        break;
      case 2:
        s.mask = AttentionMask::Bool, s.maskStrides = {197 * 197, 0, 197, 1}, what += "_boolmask";
        break;
      case 3:
        s.mask = AttentionMask::Additive, s.maskDType = t == DType::FLOAT32 ? DType::FLOAT32 : t;
        s.maskStrides = {0, 0, 0, 1}, what += "_addmask"; // [L] padding mask
        break;
      default:
        s.S = 77, s.L = 300, what += "_qlen_ne_kvlen";
        break;
      }
      add(what, s);
    }
  {
    AttentionSpec s = attn(1, 4, 4, 300, 100, 64, DType::BFLOAT16); // S > L: early rows see nothing
    s.causal = true;
    add("s_gt_l_causal", s);
  }
  {
    AttentionSpec s = attn(2, 16, 16, 4096, 4096, 128, DType::BFLOAT16); // the benchmark's shape
    add("bench_d128", s);
    s.causal = true;
    add("bench_d128_causal", s);
    s = attn(4, 32, 32, 4096, 4096, 64, DType::BFLOAT16);
    add("bench_d64", s);
  }
  {
    AttentionSpec s = attn(2, 8, 2, 129, 129, 128, DType::BFLOAT16);
    s.Dv = 64;          // Dv != D
    s.maskParam = true; // ABI slot without a mask
    add("dv_ne_d_maskparam", s);
  }
  {
    // q/o as [B, S, H, D] views (the projection's natural layout).
    AttentionSpec s = attn(2, 8, 8, 100, 100, 64, DType::FLOAT16);
    s.q = {100 * 8 * 64, 64, 8 * 64};
    s.o = {100 * 8 * 64, 64, 8 * 64};
    s.mask = AttentionMask::Additive, s.maskDType = DType::BFLOAT16,
    s.maskStrides = {0, 100 * 100, 100, 1};
    add("strided_bshd", s);
  }
  return out;
}

std::vector<Named> decodeSpread() {
  std::vector<Named> out;
  int id = 0;
  auto add = [&](const std::string &what, const AttentionSpec &s) {
    out.push_back({"fd_" + std::to_string(id++) + "_" + what, s});
  };
  add("llama_b8_gqa4_32k", attn(8, 32, 8, 1, 32768, 128, DType::BFLOAT16));
  add("b1_mha_1k_f16", attn(1, 16, 16, 1, 1000, 64, DType::FLOAT16));
  add("d256_gqa2", attn(2, 8, 4, 1, 4096, 256, DType::BFLOAT16));
  add("d80_f32", attn(2, 8, 8, 1, 777, 80, DType::FLOAT32));
  {
    AttentionSpec s = attn(4, 32, 4, 4, 2048, 128, DType::BFLOAT16); // 32 packed rows
    s.causal = true;
    add("spec4_gqa8_causal", s);
  }
  {
    AttentionSpec s = attn(2, 64, 4, 16, 5000, 64, DType::BFLOAT16); // 256 rows: row blocks
    s.causal = true;
    s.window = 1024;
    add("s16_gqa16_swa", s);
  }
  {
    AttentionSpec s = attn(3, 8, 8, 2, 333, 96, DType::BFLOAT16);
    s.mask = AttentionMask::Bool, s.maskStrides = {333, 0, 0, 1};
    add("boolmask_d96", s);
  }
  {
    AttentionSpec s = attn(64, 32, 8, 1, 512, 128, DType::BFLOAT16); // enough CTAs: one split
    add("big_batch_no_split", s);
  }
  return out;
}

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void compileAll(const std::string &source, const std::vector<std::string> &symbols,
                const char *file) {
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {}), file);
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const std::string &s : symbols)
      EXPECT_TRUE(contains(*fns, s)) << arch << " lacks " << s;
  }
}

FlashForwardConfig forced(const char *text) {
  FlashForwardConfig c;
  std::string why;
  EXPECT_TRUE(parseFlashForwardConfig(text, &c, &why)) << why;
  return c;
}

/// flashForwardConfigError(spec, c), with the spec's forced config set to c
/// also checked through the emitter (no kernel, the same reason).
std::string forcedError(AttentionSpec s, const char *text) {
  s.forwardConfig = forced(text);
  std::string why = flashForwardConfigError(s, *s.forwardConfig), emitWhy;
  LaunchDims l;
  std::string src = emitFlashAttentionForward(s, "k", &l, &emitWhy);
  EXPECT_EQ(src.empty(), !why.empty()) << text;
  if (!why.empty()) {
    EXPECT_NE(emitWhy.find(why), std::string::npos) << emitWhy;
  }
  return why;
}
} // namespace

TEST(FlashAttention, RejectsWhatItCannotDo) {
  EXPECT_EQ(flashAttentionUnsupported(attn(1, 8, 8, 64, 64, 128, DType::BFLOAT16)), "");
  EXPECT_NE(flashAttentionUnsupported(attn(1, 8, 3, 64, 64, 128, DType::BFLOAT16)), ""); // 8 % 3
  EXPECT_NE(flashAttentionUnsupported(attn(1, 8, 8, 64, 64, 72 + 4, DType::BFLOAT16)), "");
  EXPECT_NE(flashAttentionUnsupported(attn(1, 8, 8, 64, 64, 512, DType::BFLOAT16)), "");
  EXPECT_NE(flashAttentionUnsupported(attn(1, 8, 8, 64, 64, 64, DType::INT8)), "");
  AttentionSpec odd = attn(1, 8, 8, 64, 64, 64, DType::BFLOAT16);
  odd.q = {64 * 8 * 64, 64, 8 * 64 + 4}; // rows not 16-byte aligned
  EXPECT_NE(flashAttentionUnsupported(odd), "");
  LaunchDims l;
  EXPECT_EQ(emitFlashAttentionForward(odd, "k", &l), "");
  EXPECT_FALSE(flashDecodeApplicable(attn(1, 8, 8, 17, 64, 64, DType::BFLOAT16)));
  EXPECT_TRUE(flashDecodeApplicable(attn(1, 8, 8, 16, 64, 64, DType::BFLOAT16)));
}

TEST(FlashAttention, TilesFitSharedMemory) {
  for (int sm : {80, 90})
    for (int64_t d : {64, 80, 96, 128, 256}) {
      AttentionSpec s = attn(1, 16, 16, 8192, 8192, d, DType::BFLOAT16);
      s.sm = sm;
      FlashForwardConfig c = chooseFlashForwardConfig(s);
      EXPECT_LE(c.sharedBytes, sm >= 90 ? 227 * 1024 : 163 * 1024) << "d=" << d << " sm" << sm;
      EXPECT_EQ(c.blockM % (16 * c.warps), 0);
      EXPECT_EQ(c.blockN % 16, 0);
      LaunchDims l;
      ASSERT_FALSE(emitFlashAttentionForward(s, "k", &l).empty());
      EXPECT_EQ(l.grid[0], uint32_t((8192 + c.blockM - 1) / c.blockM));
      EXPECT_EQ(l.grid[1], 16u);
      EXPECT_EQ(l.block[0], uint32_t(32 * c.warps));
      EXPECT_EQ(int64_t(l.sharedBytes), c.sharedBytes);
    }
  // d <= 128: two 16-row slices per warp at long sequence lengths.
  EXPECT_EQ(chooseFlashForwardConfig(attn(1, 16, 16, 8192, 8192, 128, DType::BFLOAT16)).blockM,
            128);
  EXPECT_EQ(chooseFlashForwardConfig(attn(1, 16, 16, 48, 48, 128, DType::BFLOAT16)).blockM, 64);
}

TEST(FlashAttention, AbiAndLaunch) {
  AttentionSpec s = attn(2, 8, 2, 100, 120, 64, DType::BFLOAT16);
  LaunchDims l;
  std::string src = emitFlashAttentionForward(s, "k_attn", &l);
  EXPECT_NE(
      src.find("k_attn(const void* __restrict__ in0, const void* __restrict__ in1, const void* "
               "__restrict__ in2, void* __restrict__ out0)"),
      std::string::npos)
      << src;
  s.maskParam = true;
  src = emitFlashAttentionForward(s, "k_attn", &l);
  EXPECT_NE(src.find("in2, const void* __restrict__ in3, void* __restrict__ out0)"),
            std::string::npos);
  EXPECT_NE(src.find("(in0, in1, in2, nullptr, out0)"), std::string::npos);
  EXPECT_EQ(l.grid[2], 2u);
}

TEST(FlashDecode, SplitsFillTheGpu) {
  FlashDecodePlan p;
  // 64 (batch, kv head) pairs on 132 SMs: split the 32k keys.
  ASSERT_FALSE(emitFlashDecode(attn(8, 32, 8, 1, 32768, 128, DType::BFLOAT16), "dec", &p).empty());
  EXPECT_GT(p.numSplits, 1);
  EXPECT_EQ(p.combineKernel, "dec_combine");
  EXPECT_EQ(p.partialBytes, int64_t(8) * 32 * p.numSplits * 128 * 4);
  EXPECT_EQ(p.lseBytes, int64_t(8) * 32 * p.numSplits * 4);
  EXPECT_EQ(p.split.grid[0], uint32_t(p.numSplits));
  EXPECT_EQ(p.split.grid[1], 8u);
  EXPECT_EQ(p.split.grid[2], 8u);
  EXPECT_LE(p.split.sharedBytes, 227u * 1024);
  // 2048 pairs: already several waves, no split, no combine, no workspace.
  ASSERT_FALSE(emitFlashDecode(attn(256, 32, 8, 1, 4096, 128, DType::BFLOAT16), "dec", &p).empty());
  EXPECT_EQ(p.numSplits, 1);
  EXPECT_EQ(p.partialBytes + p.lseBytes, 0);
  EXPECT_TRUE(p.combineKernel.empty());
  // Short KV: never more splits than key tiles.
  ASSERT_FALSE(emitFlashDecode(attn(1, 8, 8, 1, 100, 128, DType::BFLOAT16), "dec", &p).empty());
  EXPECT_LE(p.numSplits, 2);
  EXPECT_EQ(chooseFlashDecodeSplits(attn(1, 8, 8, 1, 100, 128, DType::BFLOAT16)), p.numSplits);
}

// eff.attention_partial / eff.attention_combine: the artifact ABI (inputs,
// then outputs) and the op's split count, empty trailing splits included.
TEST(FlashDecode, PartialAndCombineAbi) {
  AttentionSpec s = attn(2, 8, 2, 1, 1000, 64, DType::BFLOAT16);
  s.maskParam = true;
  LaunchDims l;
  std::string src = emitFlashDecodePartial(s, 40, "k_part", &l); // 40 splits of 64 keys: 24 empty
  EXPECT_NE(
      src.find("k_part(const void* __restrict__ in0, const void* __restrict__ in1, const void* "
               "__restrict__ in2, const void* __restrict__ in3, void* __restrict__ out0, void* "
               "__restrict__ out1)"),
      std::string::npos)
      << src;
  EXPECT_NE(src.find("CHUNK = 64;"), std::string::npos);
  EXPECT_EQ(l.grid[0], 40u);
  EXPECT_EQ(l.grid[1], 2u);
  EXPECT_EQ(l.grid[2], 2u);
  src = emitFlashDecodeCombine(s, 40, "k_comb", &l);
  EXPECT_NE(src.find("k_comb(const void* __restrict__ in0, const void* __restrict__ in1, void* "
                     "__restrict__ out0)"),
            std::string::npos)
      << src;
  EXPECT_NE(src.find("ROWS = 16,"), std::string::npos);
  EXPECT_EQ(l.grid[0], 4u); // 16 rows, one warp each, 4 warps per block
  EXPECT_EQ(emitFlashDecodePartial(attn(1, 8, 8, 17, 64, 64, DType::BFLOAT16), 2, "k", &l),
            ""); // S > 16
  EXPECT_EQ(emitFlashDecodePartial(s, 0, "k", &l), "");
}

// All forward kernels (and their fp32 references) in one translation unit,
// the prelude once (twice is harmless), compiled per arch.
TEST(FlashAttention, ForwardCompilesWithNvrtcForSm80AndSm90) {
  REQUIRE_NVRTC();
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  for (const Named &n : forwardSpread()) {
    LaunchDims l;
    std::string k = emitFlashAttentionForward(n.spec, n.name, &l);
    ASSERT_FALSE(k.empty()) << n.name << ": " << flashAttentionUnsupported(n.spec);
    EXPECT_LE(l.sharedBytes, 227u * 1024) << n.name;
    source += k;
    symbols.push_back(n.name);
  }
  source += attentionPrelude();
  compileAll(source, symbols, "attention_forward_spread.cu");
}

TEST(FlashAttention, ReferenceCompilesWithNvrtc) {
  REQUIRE_NVRTC();
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  for (const Named &n : forwardSpread()) {
    LaunchDims l;
    std::string k = emitAttentionReference(n.spec, n.name + "_ref", &l);
    ASSERT_FALSE(k.empty()) << n.name;
    source += k;
    symbols.push_back(n.name + "_ref");
  }
  compileAll(source, symbols, "attention_reference_spread.cu");
}

TEST(FlashDecode, CompilesWithNvrtcForSm80AndSm90) {
  REQUIRE_NVRTC();
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  for (const Named &n : decodeSpread()) {
    FlashDecodePlan p;
    std::string k = emitFlashDecode(n.spec, n.name, &p);
    ASSERT_FALSE(k.empty()) << n.name << ": " << flashAttentionUnsupported(n.spec);
    source += k;
    symbols.push_back(p.splitKernel);
    if (!p.combineKernel.empty())
      symbols.push_back(p.combineKernel);
  }
  compileAll(source, symbols, "attention_decode_spread.cu");
}

// The op pair with split counts the heuristic would not pick: one split,
// empty trailing splits, and f16/f32 outputs of the combine.
TEST(FlashDecode, PartialAndCombineCompileWithNvrtc) {
  REQUIRE_NVRTC();
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  int id = 0;
  for (const Named &n : decodeSpread()) {
    const int splits = id % 3 == 0 ? 1 : id % 3 == 1 ? 3 : 200; // 200: empty splits everywhere
    const std::string name = "fdp_" + std::to_string(id++);
    LaunchDims l;
    std::string part = emitFlashDecodePartial(n.spec, splits, name + "_partial", &l);
    std::string comb = emitFlashDecodeCombine(n.spec, splits, name + "_combine", &l);
    ASSERT_FALSE(part.empty() || comb.empty()) << n.name;
    source += part + comb;
    symbols.push_back(name + "_partial");
    symbols.push_back(name + "_combine");
  }
  compileAll(source, symbols, "attention_partial_combine.cu");
}

// Soft-capping (Gemma-2) and ALiBi (MPT, BLOOM) alone, together and with
// every mask kind, through each attention template: forward, reference,
// decode and the split pair, for sm_80, sm_90 and sm_90a; the emitted config
// carries the cap and the slopes.
TEST(FlashAttention, SoftcapAlibiAndSinksCompileWithNvrtc) {
  REQUIRE_NVRTC();
  std::vector<Named> forward, decode;
  {
    AttentionSpec s = attn(2, 8, 4, 100, 100, 64, DType::BFLOAT16);
    s.softcap = 50;
    forward.push_back({"sc_plain_bf16", s});
    s.causal = true, s.window = 32, s.dtype = DType::FLOAT32;
    forward.push_back({"sc_swa_f32", s});
    s = attn(2, 8, 8, 77, 300, 128, DType::FLOAT16);
    s.softcap = 30;
    s.mask = AttentionMask::Bool, s.maskStrides = {300, 0, 0, 1};
    forward.push_back({"sc_boolmask_f16", s});
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32;
    forward.push_back({"sc_addmask_f16", s});
    // ALiBi, alone and with soft-capping, a mask and a window.
    s = attn(2, 4, 4, 100, 100, 64, DType::BFLOAT16);
    s.causal = true, s.alibiSlopes = {0.25f, 0.0625f, 0.015625f, 0.00390625f};
    forward.push_back({"alibi_causal_bf16", s});
    s.softcap = 30, s.window = 48, s.dtype = DType::FLOAT32;
    s.mask = AttentionMask::Bool, s.maskStrides = {100, 0, 0, 1};
    forward.push_back({"alibi_sc_swa_boolmask_f32", s});
    // Sinks, alone (gpt-oss: with a window) and with every other variant.
    s = attn(2, 4, 2, 100, 100, 64, DType::BFLOAT16);
    s.causal = true, s.window = 32, s.sinks = {0.5f, -1.0f, 2.0f, 0.0f};
    forward.push_back({"sinks_swa_bf16", s});
    s.softcap = 30, s.alibiSlopes = {0.25f, 0.0625f, 0.015625f, 0.00390625f};
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32, s.maskStrides = {100, 0, 0, 1};
    s.dtype = DType::FLOAT32;
    forward.push_back({"sinks_all_f32", s});
  }
  {
    AttentionSpec s = attn(2, 8, 2, 1, 4096, 128, DType::BFLOAT16);
    s.softcap = 50;
    decode.push_back({"scd_gqa4", s});
    s = attn(2, 8, 8, 3, 700, 64, DType::FLOAT16);
    s.softcap = 20, s.causal = true, s.window = 256;
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT16, s.maskStrides = {700, 0, 0, 1};
    decode.push_back({"scd_swa_addmask", s});
    s = attn(2, 8, 2, 2, 2000, 128, DType::BFLOAT16); // 4 heads per kv head packed in rows
    s.causal = true, s.alibiSlopes = {0.5f, 0.25f, 0.125f, 0.0625f, 0.03f, 0.02f, 0.01f, 0.005f};
    decode.push_back({"alibid_gqa4", s});
    s = attn(2, 8, 2, 1, 3000, 64, DType::BFLOAT16);
    s.sinks = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 1.5f, -2.0f, 3.0f};
    decode.push_back({"sinksd_gqa4", s});
  }
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  for (const Named &n : forward) {
    LaunchDims l;
    std::string k = emitFlashAttentionForward(n.spec, n.name, &l);
    ASSERT_FALSE(k.empty()) << n.name << ": " << flashAttentionUnsupported(n.spec);
    EXPECT_NE(k.find("SOFTCAP = " + floatLit(n.spec.softcap)), std::string::npos) << k;
    EXPECT_EQ(k.find("ALIBI = true") != std::string::npos, !n.spec.alibiSlopes.empty()) << k;
    EXPECT_EQ(k.find("SINKS = true") != std::string::npos, !n.spec.sinks.empty()) << k;
    source += k + emitAttentionReference(n.spec, n.name + "_ref", &l);
    symbols.push_back(n.name);
    symbols.push_back(n.name + "_ref");
  }
  for (const Named &n : decode) {
    FlashDecodePlan p;
    std::string k = emitFlashDecode(n.spec, n.name, &p);
    ASSERT_FALSE(k.empty()) << n.name << ": " << flashAttentionUnsupported(n.spec);
    source += k;
    symbols.push_back(p.splitKernel);
    if (!p.combineKernel.empty())
      symbols.push_back(p.combineKernel);
    LaunchDims l;
    source += emitFlashDecodePartial(n.spec, 3, n.name + "_p3", &l);
    symbols.push_back(n.name + "_p3");
  }
  for (const char *arch : {"sm_80", "sm_90", "sm_90a"}) {
    auto c = nvrtc::compile(source, nvrtc::compileOptions(arch, {}), "attention_softcap.cu");
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const std::string &s : symbols)
      EXPECT_TRUE(contains(*fns, s)) << arch << " lacks " << s;
  }
}

TEST(FlashAttention, ForcedConfigNamesRoundTrip) {
  for (const char *text : {"m128n64w4s2", "m128n32w4s3-se-r2", "m128n64w8s2-q-se-r2",
                           "m128n64w8s2-b2-se-r1", "m64n64w4s2-q", "m256n32w8s3-r2"}) {
    FlashForwardConfig c = forced(text);
    EXPECT_EQ(flashForwardConfigName(c), text);
  }
  FlashForwardConfig c = forced("m128n32w4s3-q-b2-se-r2");
  EXPECT_EQ(c.blockM, 128);
  EXPECT_EQ(c.blockN, 32);
  EXPECT_EQ(c.warps, 4);
  EXPECT_EQ(c.stages, 3);
  EXPECT_TRUE(c.qInRegisters);
  EXPECT_EQ(c.minBlocksPerSM, 2);
  EXPECT_TRUE(c.staticEdges);
  EXPECT_EQ(c.rescale, 2);
  for (const char *bad : {"", "m128", "m128n64w4", "n64m128w4s2", "m128n64w4s2-", "m128n64w4s2-x",
                          "m128n64w4s2-r", "m128n64w4s2-sex", "m128n64w4s2 -q", "mxn64w4s2"}) {
    std::string why;
    EXPECT_FALSE(parseFlashForwardConfig(bad, &c, &why)) << bad;
    EXPECT_NE(why.find("syntax"), std::string::npos) << bad;
  }
}

TEST(FlashAttention, ForcedConfigsAreValidatedNotMiscompiled) {
  const AttentionSpec d128 = attn(1, 16, 16, 4096, 4096, 128, DType::BFLOAT16);
  const AttentionSpec d64 = attn(1, 32, 32, 4096, 4096, 64, DType::BFLOAT16);
  const AttentionSpec d256 = attn(1, 8, 8, 4096, 4096, 256, DType::BFLOAT16);
  // The heuristic's own choices pass the same validation.
  for (int sm : {80, 90})
    for (int64_t d : {64, 80, 96, 128, 256})
      for (int64_t n : {48, 197, 8192}) {
        AttentionSpec s = attn(1, 16, 16, n, n, d, DType::BFLOAT16);
        s.sm = sm;
        EXPECT_EQ(flashForwardConfigError(s, chooseFlashForwardConfig(s)), "")
            << "d" << d << " n" << n;
      }
  EXPECT_EQ(forcedError(d128, "m128n64w4s2"), "");
  EXPECT_EQ(forcedError(d128, "m128n32w4s3-se-r2"), "");
  EXPECT_EQ(forcedError(d128, "m128n64w8s2-q-se-r1"), "");
  EXPECT_EQ(forcedError(d128, "m128n64w8s2-b2"), "");
  EXPECT_EQ(forcedError(d64, "m128n128w4s2-se-r2"), "");
  // warps x 16 x slices must be blockM.
  EXPECT_NE(forcedError(d128, "m96n64w4s2").find("multiple of 16 * warps"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n64w3s2").find("multiple of 16 * warps"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n64w32s2").find("warps"), std::string::npos);
  EXPECT_NE(forcedError(d64, "m640n64w8s2").find("at most 4"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n24w4s2").find("blockN"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n512w4s2").find("blockN"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n64w4s1").find("stages"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n64w4s2-r3").find("rescale"), std::string::npos);
  // Registers: two slices of d128 with Q in registers, or of d256.
  EXPECT_NE(forcedError(d128, "m128n64w4s2-q").find("accumulator registers"), std::string::npos);
  EXPECT_NE(forcedError(d256, "m128n64w4s2").find("accumulator registers"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n128w4s2").find("accumulator registers"), std::string::npos);
  // minBlocksPerSM caps registers below the accumulators / beyond shared memory.
  EXPECT_NE(forcedError(d128, "m128n64w4s2-b3").find("caps registers"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m128n64w8s2-q-b2").find("caps registers"), std::string::npos);
  EXPECT_NE(forcedError(d128, "m64n64w4s2-b3").find("shared memory"), std::string::npos);
  // Shared memory: per-block limit of the target.
  EXPECT_NE(forcedError(d128, "m128n64w4s6").find("shared memory"), std::string::npos);
  AttentionSpec a100 = d128;
  a100.sm = 80;
  EXPECT_EQ(forcedError(d128, "m128n128w8s2"), "");
  EXPECT_NE(forcedError(a100, "m128n128w8s2").find("shared memory"), std::string::npos);
  // An unsupported spec reports that, not the config.
  AttentionSpec odd = attn(1, 8, 3, 64, 64, 128, DType::BFLOAT16);
  odd.forwardConfig = forced("m128n64w4s2");
  std::string why;
  LaunchDims l;
  EXPECT_EQ(emitFlashAttentionForward(odd, "k", &l, &why), "");
  EXPECT_EQ(why, flashAttentionUnsupported(odd));
}

TEST(FlashAttention, ForcedConfigSetsTilesAndLaunch) {
  AttentionSpec s = attn(2, 16, 16, 1000, 1000, 128, DType::BFLOAT16);
  s.forwardConfig = forced("m128n64w8s2-b2-se-r2");
  const FlashForwardConfig c = chooseFlashForwardConfig(s);
  EXPECT_EQ(c.blockM, 128);
  EXPECT_EQ(c.warps, 8);
  EXPECT_EQ(c.sharedBytes, 128 * 136 * 2 + 2 * 64 * (136 + 136) * 2);
  LaunchDims l;
  std::string why;
  std::string src = emitFlashAttentionForward(s, "k_forced", &l, &why);
  ASSERT_FALSE(src.empty()) << why;
  EXPECT_EQ(l.grid[0], uint32_t((1000 + 127) / 128));
  EXPECT_EQ(l.grid[1], 16u);
  EXPECT_EQ(l.grid[2], 2u);
  EXPECT_EQ(l.block[0], 256u);
  EXPECT_EQ(int64_t(l.sharedBytes), c.sharedBytes);
  EXPECT_NE(src.find("__launch_bounds__(256, 2) k_forced"), std::string::npos) << src;
  EXPECT_NE(src.find("BM = 128, BN = 64, NW = 8, STAGES = 2"), std::string::npos);
  EXPECT_NE(src.find("STATIC_EDGES = true; static constexpr int RESCALE = 2;"), std::string::npos);
  EXPECT_NE(src.find("(forced m128n64w8s2-b2-se-r2)"), std::string::npos);
  // Without a forced config: the heuristic's kernel with the code options
  // the H100 sweep chose (static edges, lazy rescale).
  s.forwardConfig.reset();
  src = emitFlashAttentionForward(s, "k_default", &l);
  EXPECT_NE(src.find("__launch_bounds__(128) k_default"), std::string::npos);
  EXPECT_NE(src.find("STATIC_EDGES = true; static constexpr int RESCALE = 2;"), std::string::npos);
  EXPECT_EQ(src.find("forced"), std::string::npos);
}

// Forced tiles and code options over shapes with partial query/key tiles,
// causal, window, masks and every storage type (the paths the options touch),
// all in one translation unit per arch.
TEST(FlashAttention, ForcedConfigsCompileWithNvrtc) {
  REQUIRE_NVRTC();
  struct Case {
    const char *config;
    AttentionSpec spec;
  };
  std::vector<Case> cases;
  auto add = [&](const char *config, AttentionSpec s) { cases.push_back({config, s}); };
  add("m128n64w4s2-se-r1", attn(1, 16, 16, 4096, 4096, 128, DType::BFLOAT16));
  add("m128n32w4s3-se-r2", attn(2, 8, 8, 197, 197, 128, DType::BFLOAT16)); // partial tiles
  add("m256n64w8s2-se-r2", attn(1, 16, 16, 4096, 4096, 128, DType::BFLOAT16));
  add("m128n64w8s2-q-se-r2", attn(1, 8, 2, 333, 333, 128, DType::FLOAT16));
  add("m128n64w8s2-b2-se-r2", attn(1, 16, 16, 1024, 1024, 128, DType::BFLOAT16));
  add("m64n64w4s2-q-r2", attn(2, 4, 4, 77, 300, 96, DType::FLOAT32));
  add("m128n128w4s2-se-r2", attn(4, 32, 32, 1024, 1024, 64, DType::BFLOAT16));
  add("m128n48w4s2-r1", attn(2, 8, 8, 500, 500, 64, DType::BFLOAT16)); // blockN not a power of 2
  {
    AttentionSpec s = attn(2, 8, 4, 500, 500, 128, DType::BFLOAT16);
    s.causal = true, s.window = 100;
    add("m128n32w4s4-se-r2", s);
    s = attn(2, 4, 4, 150, 170, 64, DType::FLOAT16);
    s.mask = AttentionMask::Additive, s.maskDType = DType::FLOAT32,
    s.maskStrides = {4 * 150 * 170, 150 * 170, 170, 1};
    add("m128n64w4s2-q-se-r2", s);
    s.mask = AttentionMask::Bool, s.maskStrides = {150 * 170, 0, 170, 1};
    add("m64n32w2s2-se-r1", s);
  }
  std::string source = attentionPrelude();
  std::vector<std::string> symbols;
  for (size_t i = 0; i < cases.size(); ++i) {
    AttentionSpec s = cases[i].spec;
    s.forwardConfig = forced(cases[i].config);
    const std::string name = "fa_forced_" + std::to_string(i);
    LaunchDims l;
    std::string why;
    std::string k = emitFlashAttentionForward(s, name, &l, &why);
    ASSERT_FALSE(k.empty()) << cases[i].config << ": " << why;
    source += k;
    symbols.push_back(name);
  }
  compileAll(source, symbols, "attention_forward_forced.cu");
}
