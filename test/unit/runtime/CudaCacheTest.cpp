// The on-disk cubin cache: hit, miss, corrupt entries, no cache.
#include "CudaTestUtil.h"
#include "cuda/Nvrtc.h"

#include <dirent.h>
#include <fstream>
#include <sstream>

using namespace effc;
using namespace effc::test;

namespace {

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

std::string readAll(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

} // namespace

TEST(CudaCache, Directory) {
  {
    ScopedEnv xdg("XDG_CACHE_HOME", "/some/xdg");
    EXPECT_EQ(nvrtc::cacheDirectory(), "/some/xdg/effc");
    EXPECT_EQ(nvrtc::cacheDirectory("/mine"), "/mine"); // SessionOptions::kernelCacheDir
  }
  ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
  ScopedEnv home("HOME", "/home/u");
  EXPECT_EQ(nvrtc::cacheDirectory(), "/home/u/.cache/effc");
}

TEST(CudaCache, KeyCoversEveryInput) {
  uint64_t k = nvrtc::cacheKey("src", {"-a", "-b"}, "sm_90", "13.0");
  EXPECT_EQ(k, nvrtc::cacheKey("src", {"-a", "-b"}, "sm_90", "13.0"));
  EXPECT_NE(k, nvrtc::cacheKey("src2", {"-a", "-b"}, "sm_90", "13.0"));
  EXPECT_NE(k, nvrtc::cacheKey("src", {"-a-b"}, "sm_90", "13.0"));
  EXPECT_NE(k, nvrtc::cacheKey("src", {"-a", "-b"}, "sm_80", "13.0"));
  EXPECT_NE(k, nvrtc::cacheKey("src", {"-a", "-b"}, "sm_90", "12.8"));
  EXPECT_EQ(nvrtc::cacheFile("/d", 0xabcULL), "/d/0000000000000abc.cubin");
}

TEST(CudaCache, EntryCodecDetectsDamage) {
  std::string cubin = "\x7f"
                      "ELF fake cubin bytes";
  std::string e = nvrtc::encodeCacheEntry(42, cubin);
  ASSERT_EQ(e.size(), 32 + cubin.size());
  auto ok = nvrtc::decodeCacheEntry(42, e);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, cubin);
  EXPECT_FALSE(nvrtc::decodeCacheEntry(43, e).ok());                         // other key
  EXPECT_FALSE(nvrtc::decodeCacheEntry(42, e.substr(0, e.size() - 1)).ok()); // truncated
  EXPECT_FALSE(nvrtc::decodeCacheEntry(42, e.substr(0, 10)).ok());
  EXPECT_FALSE(nvrtc::decodeCacheEntry(42, "").ok());
  std::string flipped = e;
  flipped.back() ^= 1;
  EXPECT_NE(nvrtc::decodeCacheEntry(42, flipped).status().message().find("checksum"),
            std::string::npos);
  std::string magic = e;
  magic[0] = 'X';
  EXPECT_FALSE(nvrtc::decodeCacheEntry(42, magic).ok());
}

TEST(CudaCache, MissHitCorruptRecompile) {
  EFFC_REQUIRE_NVRTC();
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string src = smallCudaSource(77);
  const std::string dir = tmp.path() + "/effc";

  auto miss = nvrtc::compileCached(src, "sm_90", {}, dir);
  ASSERT_TRUE(miss.ok()) << miss.status().message();
  EXPECT_FALSE(miss->fromCache);
  auto files = listDir(dir);
  ASSERT_EQ(files.size(), 1u); // no temp file left behind
  const std::string entry = dir + "/" + files[0];
  auto ver = nvrtc::version();
  ASSERT_TRUE(ver.ok());
  EXPECT_EQ(entry, nvrtc::cacheFile(dir, nvrtc::cacheKey(src, nvrtc::compileOptions("sm_90", {}),
                                                         "sm_90", *ver)));

  auto hit = nvrtc::compileCached(src, "sm_90", {}, dir);
  ASSERT_TRUE(hit.ok());
  EXPECT_TRUE(hit->fromCache);
  EXPECT_EQ(hit->cubin, miss->cubin);

  // Another arch or option is another entry.
  auto other = nvrtc::compileCached(src, "sm_80", {}, dir);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->fromCache);
  auto opt = nvrtc::compileCached(src, "sm_90", {"-lineinfo"}, dir);
  ASSERT_TRUE(opt.ok());
  EXPECT_FALSE(opt->fromCache);
  EXPECT_EQ(listDir(dir).size(), 3u);

  // A flipped byte, then a truncation: recompiled and rewritten each time.
  std::string good = readAll(entry);
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x5a;
  writeAll(entry, bad);
  auto again = nvrtc::compileCached(src, "sm_90", {}, dir);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->fromCache);
  EXPECT_EQ(again->cubin, miss->cubin);
  EXPECT_EQ(readAll(entry), good);

  writeAll(entry, good.substr(0, good.size() / 3));
  auto trunc = nvrtc::compileCached(src, "sm_90", {}, dir);
  ASSERT_TRUE(trunc.ok());
  EXPECT_FALSE(trunc->fromCache);
  EXPECT_EQ(readAll(entry), good);
  auto hit2 = nvrtc::compileCached(src, "sm_90", {}, dir);
  ASSERT_TRUE(hit2.ok());
  EXPECT_TRUE(hit2->fromCache);
}

TEST(CudaCache, DisabledOrUnwritable) {
  EFFC_REQUIRE_NVRTC();
  TempDir tmp;
  {
    // No directory (SessionOptions::kernelCache = false): no cache at all.
    auto c = nvrtc::compileCached(smallCudaSource(5), "sm_80", {}, "");
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_FALSE(c->fromCache);
    EXPECT_TRUE(listDir(tmp.path()).empty());
  }
  // A cache "directory" that is a file: the compile still succeeds.
  writeAll(tmp.path() + "/file", "x");
  auto c = nvrtc::compileCached(smallCudaSource(6), "sm_80", {}, tmp.path() + "/file/effc");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->fromCache);
}

TEST(CudaCache, CompileErrorsAreNotCached) {
  EFFC_REQUIRE_NVRTC();
  TempDir tmp;
  auto c = nvrtc::compileCached("this is not C++", "sm_90", {}, tmp.path() + "/effc");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(listDir(tmp.path() + "/effc").empty());
}
