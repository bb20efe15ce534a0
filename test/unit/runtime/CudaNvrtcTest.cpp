// NVRTC compilation and cubin symbol lookup (no GPU needed; skipped when
// libnvrtc cannot be loaded).
#include "CudaTestUtil.h"
#include "ModelManifest.h"
#include "cuda/EmbedCubins.h"
#include "cuda/Nvrtc.h"

#include <algorithm>

using namespace effc;
using namespace effc::test;

namespace {
bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
} // namespace

TEST(CudaNvrtc, OptionsAndArch) {
  EXPECT_EQ(nvrtc::archForComputeCapability(9, 0), "sm_90");
  EXPECT_EQ(nvrtc::archForComputeCapability(8, 6), "sm_86");
  EXPECT_EQ(nvrtc::compileOptions("sm_80", {"-lineinfo"}),
            (std::vector<std::string>{"--gpu-architecture=sm_80", "-lineinfo", "-default-device",
                                      "--std=c++17"}));
  // Options the manifest already sets are not repeated.
  EXPECT_EQ(
      nvrtc::compileOptions("sm_90", {"--std=c++20", "-default-device"}),
      (std::vector<std::string>{"--gpu-architecture=sm_90", "--std=c++20", "-default-device"}));
}

TEST(CudaNvrtc, CompilesForSm80AndSm90) {
  EFFC_REQUIRE_NVRTC();
  auto ver = nvrtc::version();
  ASSERT_TRUE(ver.ok()) << ver.status().message();
  EXPECT_NE(ver->find('.'), std::string::npos);
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto c = nvrtc::compile(smallCudaSource(1024), nvrtc::compileOptions(arch, {}));
    ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
    EXPECT_FALSE(c->fromCache);
    EXPECT_GT(c->ms, 0);
    ASSERT_GT(c->cubin.size(), 64u);
    EXPECT_EQ(c->cubin.compare(0, 4,
                               "\x7f"
                               "ELF"),
              0);
    auto fns = nvrtc::cubinFunctions(c->cubin.data(), c->cubin.size());
    ASSERT_TRUE(fns.ok()) << fns.status().message();
    for (const char *k : {"k_add", "k_mul", "k_big_shared"})
      EXPECT_TRUE(contains(*fns, k)) << arch << " lacks " << k;
    EXPECT_FALSE(contains(*fns, "k_nope"));
  }
}

TEST(CudaNvrtc, CompileErrorCarriesLog) {
  EFFC_REQUIRE_NVRTC();
  auto c =
      nvrtc::compile("extern \"C\" __global__ void k(float* y) {\n  y[0] = undefined_thing;\n}\n",
                     nvrtc::compileOptions("sm_90", {}), "broken.cu");
  ASSERT_FALSE(c.ok());
  const std::string &msg = c.status().message();
  EXPECT_NE(msg.find("nvrtc: compiling broken.cu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--gpu-architecture=sm_90"), std::string::npos) << msg;
  EXPECT_NE(msg.find("undefined_thing"), std::string::npos) << msg; // the log
  EXPECT_NE(msg.find("broken.cu(2)"), std::string::npos) << msg;    // with the line
}

TEST(CudaNvrtc, BadOptionIsAnError) {
  EFFC_REQUIRE_NVRTC();
  auto c = nvrtc::compile(smallCudaSource(4), nvrtc::compileOptions("sm_90", {"--no-such-option"}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--no-such-option"), std::string::npos)
      << c.status().message();
}

TEST(CudaNvrtc, ElfReaderRejectsGarbage) {
  std::string junk = "not an elf at all, just some bytes that are long enough to look at.....";
  EXPECT_FALSE(nvrtc::cubinFunctions(junk.data(), junk.size()).ok());
  EXPECT_FALSE(nvrtc::cubinFunctions(junk.data(), 3).ok());
  EXPECT_FALSE(nvrtc::cubinFunctions(nullptr, 0).ok());
}

TEST(CudaNvrtc, ElfReaderSurvivesCorruptCubins) {
  EFFC_REQUIRE_NVRTC();
  auto c = nvrtc::compile(smallCudaSource(16), nvrtc::compileOptions("sm_80", {}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  const std::string &good = c->cubin;
  // Every truncation and a byte flip at many offsets: errors or names, no crash.
  for (size_t n = 0; n < good.size(); n += 97)
    (void)nvrtc::cubinFunctions(good.data(), n);
  for (size_t at = 0; at < good.size(); at += 13) {
    std::string bad = good;
    bad[at] = char(~bad[at]);
    (void)nvrtc::cubinFunctions(bad.data(), bad.size());
  }
  std::string truncated = good.substr(0, 40);
  EXPECT_FALSE(nvrtc::cubinFunctions(truncated.data(), truncated.size()).ok());
}

TEST(CudaNvrtc, EmbedCubinsAddsCheckedEntries) {
  EFFC_REQUIRE_NVRTC();
  std::string payload;
  ManifestBuilder mb = smallCudaModel(&payload);
  ASSERT_TRUE(nvrtc::embedCubins(mb.m, payload, {"sm_80", "sm_90"}).ok());
  ASSERT_EQ(mb.m.cubins_size(), 2);
  EXPECT_EQ(mb.m.cubins(1).arch(), "sm_90");
  EXPECT_EQ(mb.m.cubins(1).offset() % 256, 0u);
  EXPECT_EQ(mb.m.cubins(1).nvrtc_version(), *nvrtc::version());
  // Re-embedding one arch replaces its entry.
  ASSERT_TRUE(nvrtc::embedCubins(mb.m, payload, {"sm_90"}).ok());
  EXPECT_EQ(mb.m.cubins_size(), 2);
  // The artifact round-trips and its cubins hold the kernels.
  auto model = loadBytes(bytesWithPayload(mb, payload));
  ASSERT_TRUE(model);
  const auto &c = manifestOf(*model).cubins(1);
  auto fns = nvrtc::cubinFunctions(model->payload().data() + c.offset(), c.size());
  ASSERT_TRUE(fns.ok()) << fns.status().message();
  EXPECT_TRUE(contains(*fns, "k_big_shared"));

  // A kernel whose function is not in the source is caught at embed time.
  mb.m.mutable_kernels(1)->set_source("k_missing");
  Status st = nvrtc::embedCubins(mb.m, payload, {"sm_90"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("kernel function(s) not found: k_missing"), std::string::npos)
      << st.message();
}

// The loader runs once per process, so the forced path is tried in a fresh
// child (threadsafe death tests re-execute the binary).
TEST(CudaNvrtc, ForcedPathThatDoesNotLoadIsAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedEnv env("EFFC_NVRTC_PATH", "/nonexistent/libnvrtc.so.13");
  EXPECT_EXIT(
      {
        Status st = nvrtc::load();
        std::fprintf(stderr, "%s\n", st.message().c_str());
        std::exit(st.ok() ? 0 : 3);
      },
      testing::ExitedWithCode(3), "nvrtc: cannot load EFFC_NVRTC_PATH=/nonexistent/libnvrtc.so.13");
}
