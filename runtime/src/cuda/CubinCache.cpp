// The on-disk cubin cache. Entries are whole files written through a temp
// file + rename, so readers see either nothing or a complete entry; the
// header check still catches truncation or bit rot from elsewhere.
#include "Artifact.h"
#include "cuda/Nvrtc.h"

#include "cuda/DynLib.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace effc::nvrtc {
namespace {

constexpr char kMagic[8] = {'E', 'F', 'F', 'C', 'U', 'B', 'N', '1'};
constexpr size_t kHeaderSize = 32;

void putU64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    s.push_back(char(uint8_t(v >> (8 * i))));
}
uint64_t getU64(const std::string &s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t(uint8_t(s[at + i])) << (8 * i);
  return v;
}

bool makeDirs(const std::string &path) {
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/')
      continue;
    std::string prefix = path.substr(0, i);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return false;
  }
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool readWhole(const std::string &path, std::string *out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  out->clear();
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0)
    out->append(buf, size_t(n));
  close(fd);
  return n == 0;
}

bool writeAtomically(const std::string &path, const std::string &bytes) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += size_t(n);
  }
  bool ok = done == bytes.size() && close(fd) == 0;
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

} // namespace

std::string cacheDirectory(const std::string &configured) {
  if (!configured.empty())
    return configured;
  std::string base = cuda::getEnv("XDG_CACHE_HOME");
  if (base.empty()) {
    std::string home = cuda::getEnv("HOME");
    if (home.empty())
      return "";
    base = home + "/.cache";
  }
  return base + "/effc";
}

uint64_t cacheKey(const std::string &source, const std::vector<std::string> &options,
                  const std::string &arch, const std::string &nvrtcVersion) {
  // NUL separators keep ("ab","c") and ("a","bc") apart.
  std::string k = "effc-cubin-v1";
  k.push_back('\0');
  k += source;
  k.push_back('\0');
  for (const std::string &o : options) {
    k += o;
    k.push_back('\0');
  }
  k += arch;
  k.push_back('\0');
  k += nvrtcVersion;
  return fnv1a64(k.data(), k.size());
}

std::string cacheFile(const std::string &dir, uint64_t key) {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.cubin", static_cast<unsigned long long>(key));
  return dir + "/" + name;
}

std::string encodeCacheEntry(uint64_t key, const std::string &cubin) {
  std::string s(kMagic, sizeof(kMagic));
  putU64(s, key);
  putU64(s, cubin.size());
  putU64(s, fnv1a64(cubin.data(), cubin.size()));
  return s + cubin;
}

StatusOr<std::string> decodeCacheEntry(uint64_t key, const std::string &bytes) {
  if (bytes.size() < kHeaderSize || bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0)
    return Status::error("not a cubin cache entry");
  if (getU64(bytes, 8) != key)
    return Status::error("cache entry is for another key");
  if (getU64(bytes, 16) != bytes.size() - kHeaderSize)
    return Status::error("cache entry size mismatch (truncated?)");
  std::string cubin = bytes.substr(kHeaderSize);
  if (getU64(bytes, 24) != fnv1a64(cubin.data(), cubin.size()))
    return Status::error("cache entry checksum mismatch");
  return cubin;
}

StatusOr<Compiled> compileCached(const std::string &source, const std::string &arch,
                                 const std::vector<std::string> &extra, const std::string &dir) {
  std::vector<std::string> options = compileOptions(arch, extra);
  if (dir.empty())
    return compile(source, options);
  auto ver = version();
  if (!ver.ok())
    return ver.status();
  uint64_t key = cacheKey(source, options, arch, *ver);
  std::string path = cacheFile(dir, key), bytes;
  if (readWhole(path, &bytes)) {
    auto cubin = decodeCacheEntry(key, bytes);
    if (cubin.ok()) {
      Compiled c;
      c.cubin = std::move(*cubin);
      c.fromCache = true;
      return c;
    }
    // A bad entry falls through: recompiled below and replaced.
  }
  auto c = compile(source, options);
  if (c.ok() && makeDirs(dir))
    writeAtomically(path, encodeCacheEntry(key, c->cubin));
  return c;
}

} // namespace effc::nvrtc
