// The TMA variant of the MoE grouped expert GEMM (ExpertGemmSpec::tma,
// device/moe_wgmma_tma.cuh): which specs take it, its tensor maps
// (expertGemmTmaMaps) and launch, and an NVRTC compile for sm_90a of the
// Mixtral-8x7B and Qwen-MoE prefill GEMMs (gathered gate/up, in-place down,
// the dense shared expert) in one translation unit with ptxas -v: every
// kernel present, none spilling. No GPU needed; the numerics are checked by
// effc-moe-emu-tests (emulation) and on a GPU by test/gpu/moe_tma.sh.
#include "compiler/codegen/moe/MoEKernels.h"
#include "cuda/Nvrtc.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace effc;
using namespace effc::codegen;
using namespace effc::codegen::moe;

namespace {

ExpertGemmSpec spec(int64_t T, int64_t K, int64_t E, int64_t N, int64_t KD, bool gated,
                    Rows rows = Rows::Sorted) {
  ExpertGemmSpec s;
  s.T = T, s.K = K, s.E = E, s.N = N, s.KD = KD, s.gated = gated, s.rows = rows;
  s.wgmma = s.tma = true;
  return s;
}

TEST(MoEWgmmaTma, SelectedOnlyWithWgmmaAndTma) {
  ExpertGemmSpec s = spec(4096, 2, 8, 14336, 4096, true);
  EXPECT_TRUE(usesWgmmaTma(s));
  s.tma = false; // the default: the cp.async wgmma kernel
  EXPECT_FALSE(usesWgmmaTma(s));
  EXPECT_TRUE(expertGemmTmaMaps(s).empty());
  s.tma = true, s.wgmma = false;
  EXPECT_FALSE(usesWgmmaTma(s));
  // Sizes the wgmma kernel does not take: no TMA either.
  EXPECT_FALSE(usesWgmmaTma(spec(4096, 2, 8, 14336, 4000, true)));
  EXPECT_FALSE(usesWgmmaTma(spec(8, 2, 8, 14336, 4096, true, Rows::Slots)));
}

TEST(MoEWgmmaTma, MapsAndLaunch) {
  // Gate/up: A (x [T, KD]) is gathered, its map still describes x; weights
  // [E, 2N, KD] as (KD, 2N, E), box (64, 128, 1), rows of KD * 2 bytes.
  const ExpertGemmSpec up = spec(300, 2, 3, 256, 320, true);
  std::vector<TensorMapDesc> m = expertGemmTmaMaps(up);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].arg, 0);
  EXPECT_EQ(m[0].dims, (std::vector<uint64_t>{320, 300, 1}));
  EXPECT_EQ(m[1].arg, 1);
  EXPECT_EQ(m[1].dims, (std::vector<uint64_t>{320, 512, 3}));
  EXPECT_EQ(m[1].strides, (std::vector<uint64_t>{640, 512 * 640}));
  EXPECT_EQ(m[1].box, (std::vector<uint32_t>{64, 128, 1}));
  EXPECT_EQ(m[1].swizzle, 3); // 128B: the layout the wgmma descriptors read
  // Down: A is h [T*K, KD] read in place, weights [E, N, KD].
  const ExpertGemmSpec down = spec(300, 2, 3, 512, 256, false);
  m = expertGemmTmaMaps(down);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].dims, (std::vector<uint64_t>{256, 600, 1}));
  EXPECT_EQ(m[0].strides, (std::vector<uint64_t>{512, 600 * 512}));
  EXPECT_EQ(m[1].dims, (std::vector<uint64_t>{256, 512, 3}));
  std::string src, err;
  LaunchDims l;
  ASSERT_TRUE(emitExpertGemm(up, "k", src, l, err)) << err;
  EXPECT_NE(src.find("moe_grouped_wgmma_tma<k_cfg>"), std::string::npos) << src;
  EXPECT_NE(src.find("__launch_bounds__(384, 1)"), std::string::npos) << src;
  EXPECT_EQ(l.block[0], 384u);
  EXPECT_EQ(l.grid[1], 2u); // N 256 / 128 gated columns
  EXPECT_EQ(l.sharedBytes, uint32_t(4 * 48 * 1024 + 2048));
  EXPECT_LE(l.sharedBytes, 227u * 1024);
}

TEST(MoEWgmmaTma, CompilesWithNvrtcForSm90aWithoutSpills) {
  Status st = nvrtc::load();
  if (!st.ok())
    FAIL() << "libnvrtc not loadable: " << st.message();
  struct Named {
    std::string name;
    ExpertGemmSpec s;
  };
  std::vector<Named> ks = {
      {"mixtral_up", spec(4096, 2, 8, 14336, 4096, true)},
      {"mixtral_down", spec(4096, 2, 8, 4096, 14336, false)},
      {"qwen_up", spec(512, 4, 60, 1408, 2048, true)},
      {"qwen_down", spec(512, 4, 60, 2048, 1408, false)},
      {"qwen_shared_up", spec(512, 1, 1, 5632, 2048, true, Rows::Dense)},
      {"qwen_shared_down", spec(512, 1, 1, 2048, 5632, false, Rows::Dense)},
  };
  ks[0].s.gelu = true; // the gelu epilogue too
  std::string source = moePrelude(true, true);
  for (const Named &k : ks) {
    std::string text, err;
    LaunchDims l;
    ASSERT_TRUE(usesWgmmaTma(k.s)) << k.name;
    ASSERT_TRUE(emitExpertGemm(k.s, k.name, text, l, err)) << k.name << ": " << err;
    source += text;
  }
  auto c = nvrtc::compile(source, nvrtc::compileOptions("sm_90a", {"--ptxas-options=-v"}),
                          "moe_wgmma_tma.cu");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
  ASSERT_TRUE(fns.ok()) << fns.status().message();
  // ptxas -v: "Compiling entry function 'NAME' ..." then "... N bytes spill stores ...".
  const std::string &log = c->log;
  for (const Named &k : ks) {
    EXPECT_NE(std::find(fns->begin(), fns->end(), k.name), fns->end()) << "no " << k.name;
    const size_t at = log.find("'" + k.name + "'");
    ASSERT_NE(at, std::string::npos) << "no ptxas report for " << k.name << "\n" << log;
    const size_t spill = log.find("spill stores", at);
    ASSERT_NE(spill, std::string::npos);
    const size_t lineStart = log.rfind('\n', spill);
    const std::string line = log.substr(lineStart + 1, log.find('\n', spill) - lineStart - 1);
    EXPECT_NE(line.find(", 0 bytes spill stores"), std::string::npos) << k.name << ": " << line;
  }
}

} // namespace
