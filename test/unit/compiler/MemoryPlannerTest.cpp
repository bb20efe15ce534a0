//===- MemoryPlannerTest.cpp - liveness-based arena planning --------------===//
#include "compiler/plan/MemoryPlanner.h"

#include <gtest/gtest.h>

#include <random>

using effc::ArenaPlan;
using effc::LiveRange;
using effc::planArena;

namespace {

bool overlapInTime(const LiveRange &a, const LiveRange &b) {
  return a.first <= b.last && b.first <= a.last;
}

/// No two tensors that are live together share a byte; all fit in the arena.
void expectValid(const std::vector<LiveRange> &ranges, const ArenaPlan &plan, uint64_t alignment) {
  ASSERT_EQ(plan.offsets.size(), ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % alignment, 0u);
    EXPECT_LE(plan.offsets[i] + ranges[i].size, plan.arenaBytes);
    for (size_t j = i + 1; j < ranges.size(); ++j) {
      if (!overlapInTime(ranges[i], ranges[j]))
        continue;
      bool disjoint = plan.offsets[i] + ranges[i].size <= plan.offsets[j] ||
                      plan.offsets[j] + ranges[j].size <= plan.offsets[i];
      EXPECT_TRUE(disjoint) << "tensors " << i << " and " << j << " overlap";
    }
  }
}

TEST(MemoryPlanner, ChainReusesMemory) {
  // a -> b -> c -> d: each tensor dies when the next is written, so two slots suffice.
  std::vector<LiveRange> ranges = {{1024, 0, 1}, {1024, 1, 2}, {1024, 2, 3}, {1024, 3, 4}};
  ArenaPlan plan = planArena(ranges);
  expectValid(ranges, plan, 256);
  EXPECT_EQ(plan.arenaBytes, 2048u);
}

TEST(MemoryPlanner, AllLiveNeedsSum) {
  std::vector<LiveRange> ranges = {{100, 0, 5}, {300, 1, 5}, {1000, 2, 5}};
  ArenaPlan plan = planArena(ranges);
  expectValid(ranges, plan, 256);
  EXPECT_EQ(plan.arenaBytes, 256u + 512u + 1024u);
}

TEST(MemoryPlanner, SmallTensorFillsGap) {
  // Big tensors at [0,1] and [3,4] share bytes; a small one live with both
  // goes beside them.
  std::vector<LiveRange> ranges = {{4096, 0, 1}, {4096, 3, 4}, {256, 0, 4}};
  ArenaPlan plan = planArena(ranges);
  expectValid(ranges, plan, 256);
  EXPECT_EQ(plan.arenaBytes, 4096u + 256u);
}

TEST(MemoryPlanner, RandomRangesAreValid) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<LiveRange> ranges;
    uint64_t sum = 0;
    for (int i = 0; i < 40; ++i) {
      int64_t first = int64_t(rng() % 30);
      uint64_t size = 1 + rng() % 5000;
      ranges.push_back({size, first, first + int64_t(rng() % 8)});
      sum += (size + 255) / 256 * 256;
    }
    ArenaPlan plan = planArena(ranges);
    expectValid(ranges, plan, 256);
    EXPECT_LE(plan.arenaBytes, sum);
  }
}

TEST(MemoryPlanner, Empty) {
  ArenaPlan plan = planArena({});
  EXPECT_EQ(plan.arenaBytes, 0u);
}

} // namespace
