// Kernel names from a cubin without the driver: a cubin is an ELF64 file
// whose .symtab lists every __global__ function as STT_FUNC. The bytes may
// come from a cache file or an artifact, so every offset is bounds-checked.
#include "cuda/Nvrtc.h"

#include <cstring>

namespace effc::nvrtc {
namespace {

struct Reader {
  const uint8_t *p;
  size_t n;
  bool in(uint64_t off, uint64_t len) const { return off <= n && len <= n - off; }
  uint64_t u(uint64_t off, int bytes) const {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= uint64_t(p[off + i]) << (8 * i);
    return v;
  }
};

constexpr uint32_t kShtSymtab = 2;
constexpr uint8_t kSttFunc = 2;

} // namespace

StatusOr<std::vector<std::string>> cubinFunctions(const void *data, size_t size) {
  Reader r{static_cast<const uint8_t *>(data), size};
  if (!r.in(0, 64) || std::memcmp(r.p,
                                  "\x7f"
                                  "ELF",
                                  4) != 0)
    return Status::error("cubin: not an ELF file");
  if (r.p[4] != 2 || r.p[5] != 1)
    return Status::error("cubin: not a little-endian ELF64 file");
  uint64_t shoff = r.u(0x28, 8), shentsize = r.u(0x3A, 2), shnum = r.u(0x3C, 2);
  if (shentsize < 64 || !r.in(shoff, shnum * shentsize))
    return Status::error("cubin: section headers out of bounds");
  auto sec = [&](uint64_t i, uint64_t field, int bytes) {
    return r.u(shoff + i * shentsize + field, bytes);
  };
  std::vector<std::string> names;
  bool sawSymtab = false;
  for (uint64_t i = 0; i < shnum; ++i) {
    if (sec(i, 4, 4) != kShtSymtab)
      continue;
    sawSymtab = true;
    uint64_t off = sec(i, 0x18, 8), len = sec(i, 0x20, 8), link = sec(i, 0x28, 4),
             entsize = sec(i, 0x38, 8);
    if (entsize < 24 || !r.in(off, len) || link >= shnum)
      return Status::error("cubin: bad .symtab");
    uint64_t stroff = sec(link, 0x18, 8), strlen_ = sec(link, 0x20, 8);
    if (!r.in(stroff, strlen_))
      return Status::error("cubin: bad string table");
    for (uint64_t s = 0; s + entsize <= len; s += entsize) {
      uint64_t e = off + s;
      if ((r.p[e + 4] & 0xf) != kSttFunc)
        continue;
      uint64_t nameOff = r.u(e, 4);
      if (nameOff >= strlen_)
        return Status::error("cubin: symbol name out of bounds");
      const char *name = reinterpret_cast<const char *>(r.p + stroff + nameOff);
      size_t maxLen = size_t(strlen_ - nameOff);
      size_t l = strnlen(name, maxLen);
      if (l == maxLen)
        return Status::error("cubin: unterminated symbol name");
      if (l)
        names.emplace_back(name, l);
    }
  }
  if (!sawSymtab)
    return Status::error("cubin: no symbol table");
  return names;
}

} // namespace effc::nvrtc
