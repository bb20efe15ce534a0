// Truncations and bit flips anywhere in an artifact always give an error
// Status (every byte is covered by a checksum or must be zero padding).
#include "TestUtil.h"

#include <random>

using namespace effc;
using namespace effc::test;

TEST(ArtifactFuzz, EveryTruncationFails) {
  std::string bytes = smallModel().bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto m = Model::loadFromMemory(bytes.data(), n, "t.effc");
    ASSERT_FALSE(m.ok()) << "truncated at " << n;
  }
}

TEST(ArtifactFuzz, RandomBitFlipsFail) {
  std::string bytes = smallModel().bytes();
  std::mt19937 rng(1234);
  for (int it = 0; it < 3000; ++it) {
    std::string b = bytes;
    int flips = 1 + int(rng() % 3);
    for (int f = 0; f < flips; ++f)
      b[rng() % b.size()] ^= char(1 << (rng() % 8));
    if (b == bytes)
      continue;
    auto m = Model::loadFromMemory(b.data(), b.size(), "t.effc");
    ASSERT_FALSE(m.ok()) << "iteration " << it;
  }
}

TEST(ArtifactFuzz, EverySingleByteFlipFails) {
  std::string bytes = smallModel().bytes();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string b = bytes;
    b[i] ^= 0x5a;
    ASSERT_FALSE(Model::loadFromMemory(b.data(), b.size(), "t.effc").ok()) << "byte " << i;
  }
}

TEST(ArtifactFuzz, RandomGarbageFails) {
  std::mt19937 rng(99);
  for (int it = 0; it < 500; ++it) {
    std::string b(rng() % 2048, '\0');
    for (char &c : b)
      c = char(rng());
    if (b.size() >= 8 && it % 2)
      b.replace(0, 8, std::string("EFFCART\0", 8));
    ASSERT_FALSE(Model::loadFromMemory(b.data(), b.size(), "t.effc").ok());
  }
}
