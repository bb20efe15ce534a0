//===- MemoryPlanner.cpp - liveness-based arena offsets -------------------===//
#include "compiler/plan/MemoryPlanner.h"

#include <algorithm>
#include <numeric>

namespace effc {

static uint64_t alignUp(uint64_t v, uint64_t alignment) {
  return (v + alignment - 1) & ~(alignment - 1);
}

static bool overlapInTime(const LiveRange &a, const LiveRange &b) {
  return a.first <= b.last && b.first <= a.last;
}

ArenaPlan planArena(const std::vector<LiveRange> &ranges, uint64_t alignment) {
  ArenaPlan plan;
  plan.offsets.assign(ranges.size(), 0);
  std::vector<size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by earlier start so the result is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (ranges[a].size != ranges[b].size)
      return ranges[a].size > ranges[b].size;
    return ranges[a].first < ranges[b].first;
  });

  struct Placed {
    uint64_t begin, end;
  };
  std::vector<size_t> placed;
  for (size_t idx : order) {
    const LiveRange &r = ranges[idx];
    uint64_t size = alignUp(std::max<uint64_t>(r.size, 1), alignment);
    // Byte ranges of placed tensors that are live at the same time, by offset.
    std::vector<Placed> busy;
    for (size_t other : placed)
      if (overlapInTime(r, ranges[other]))
        busy.push_back(
            {plan.offsets[other],
             plan.offsets[other] + alignUp(std::max<uint64_t>(ranges[other].size, 1), alignment)});
    std::sort(busy.begin(), busy.end(),
              [](const Placed &a, const Placed &b) { return a.begin < b.begin; });
    uint64_t offset = 0;
    for (const Placed &p : busy) {
      if (offset + size <= p.begin)
        break; // fits in the gap before p
      offset = std::max(offset, p.end);
    }
    plan.offsets[idx] = offset;
    plan.arenaBytes = std::max(plan.arenaBytes, offset + size);
    placed.push_back(idx);
  }
  return plan;
}

} // namespace effc
