// The host kernels cover exactly the eff ops that run as kernels, as listed
// by the generated EffOpList.inc (no LLVM/MLIR needed, so this also runs
// in the EFFC_RUNTIME_ONLY build). OpRegistryTest checks the list against the
// dialect itself.
#include "host/HostKernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace {

TEST(OpListTest, EveryKernelOpHasAHostKernelAndNoOtherOpHasOne) {
  std::vector<std::string> listed = effc::host::kernelOpNames();
  std::vector<std::string> kernels = effc::host::kernelNames();
  ASSERT_FALSE(listed.empty());
  std::set<std::string> listedSet(listed.begin(), listed.end()),
      kernelSet(kernels.begin(), kernels.end());
  for (const std::string &op : listed)
    EXPECT_TRUE(kernelSet.count(op)) << op << " runs as a kernel but has no host kernel";
  for (const std::string &op : kernels)
    EXPECT_TRUE(listedSet.count(op))
        << op << " has a host kernel but EffOpList.inc does not list it";
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
}

TEST(OpListTest, UnknownOpsHaveNoKernel) {
  // eff.silu was a host kernel without a dialect op (removed, issue 12).
  EXPECT_FALSE(effc::host::hasKernel("eff.silu"));
  EXPECT_FALSE(effc::host::hasKernel("eff.constant"));
  EXPECT_FALSE(effc::host::hasKernel("eff.fusion"));
}

} // namespace
