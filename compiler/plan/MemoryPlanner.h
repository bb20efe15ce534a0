//===- MemoryPlanner.h - liveness-based arena offsets -------------*- C++ -*-===//
//
// Assigns every intermediate tensor a byte offset in one arena so that tensors
// whose lifetimes overlap never share bytes, and tensors whose lifetimes do
// not overlap may. Greedy by size (largest first), each placed at the lowest
// aligned offset that fits between the already-placed tensors it is live with:
// the classic heuristic of TFLite's and ORT's arena planners.
//
#ifndef EFFC_COMPILER_PLAN_MEMORYPLANNER_H
#define EFFC_COMPILER_PLAN_MEMORYPLANNER_H

#include <cstdint>
#include <vector>

namespace effc {

struct LiveRange {
  uint64_t size = 0;
  /// First and last step (inclusive) at which the tensor must hold its data:
  /// from the kernel that writes it to the last kernel that reads it.
  int64_t first = 0, last = 0;
};

struct ArenaPlan {
  std::vector<uint64_t> offsets; // one per LiveRange
  uint64_t arenaBytes = 0;
};

/// `alignment` must be a power of two.
ArenaPlan planArena(const std::vector<LiveRange> &ranges, uint64_t alignment = 256);

} // namespace effc

#endif
