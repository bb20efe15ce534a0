// bench/common/BenchGpu.h on a fake driver (function pointers that record
// their calls; no GPU): every module is unloaded exactly once whether a bench
// unloads it early (unloadModule) or leaves it to the Gpu's destructor, a
// second unload of a handle never reaches the driver (effc-moe-bench unloaded
// each case's module itself and the destructor unloaded it again: a use
// after free in the driver at exit), and eventTimes destroys only the events
// it created.
#include "bench/common/BenchGpu.h"

#include <gtest/gtest.h>

#include <map>

namespace {

using namespace effc;

std::map<cuda::CUmodule, int> gUnloads; // unload calls per handle
int gNextModule = 0, gEventsCreated = 0, gEventsDestroyed = 0;
bool gFailEventCreate = false;

cuda::CUresult fakeLoad(cuda::CUmodule *m, const void *) {
  *m = reinterpret_cast<cuda::CUmodule>(uintptr_t(0x1000 + 16 * ++gNextModule));
  return cuda::CUDA_SUCCESS;
}
cuda::CUresult fakeUnload(cuda::CUmodule m) {
  ++gUnloads[m];
  return cuda::CUDA_SUCCESS;
}
cuda::CUresult fakeEventCreate(cuda::CUevent *e, unsigned) {
  if (gFailEventCreate)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  *e = reinterpret_cast<cuda::CUevent>(uintptr_t(0x2000 + 16 * ++gEventsCreated));
  return cuda::CUDA_SUCCESS;
}
cuda::CUresult fakeEventDestroy(cuda::CUevent e) {
  EXPECT_NE(e, nullptr);
  ++gEventsDestroyed;
  return cuda::CUDA_SUCCESS;
}
cuda::CUresult fakeOk0(cuda::CUevent, cuda::CUstream) { return cuda::CUDA_SUCCESS; }
cuda::CUresult fakeSync(cuda::CUstream) { return cuda::CUDA_SUCCESS; }
cuda::CUresult fakeElapsed(float *ms, cuda::CUevent, cuda::CUevent) {
  *ms = 1.5f;
  return cuda::CUDA_SUCCESS;
}

cuda::Driver fakeDriver() {
  gUnloads.clear();
  gNextModule = gEventsCreated = gEventsDestroyed = 0;
  gFailEventCreate = false;
  cuda::Driver d{}; // every driver entry null but these
  d.api.cuModuleLoadData = fakeLoad;
  d.api.cuModuleUnload = fakeUnload;
  d.api.cuEventCreate = fakeEventCreate;
  d.api.cuEventDestroy = fakeEventDestroy;
  d.api.cuEventRecord = fakeOk0;
  d.api.cuStreamSynchronize = fakeSync;
  d.api.cuEventElapsedTime = fakeElapsed;
  return d;
}

TEST(BenchGpu, EachModuleIsUnloadedOnce) {
  cuda::Driver d = fakeDriver();
  cuda::CUmodule a, b, c;
  {
    bench::Gpu g(&d, "test");
    a = g.loadModule("cubin-a");
    b = g.loadModule("cubin-b");
    c = g.loadModule("cubin-c");
    EXPECT_EQ(g.loadedModules(), 3u);
    EXPECT_TRUE(g.unloadModule(b));
    EXPECT_EQ(g.loadedModules(), 2u);
    EXPECT_EQ(gUnloads[b], 1);
    EXPECT_FALSE(g.failed());
  }
  EXPECT_EQ(gUnloads[a], 1);
  EXPECT_EQ(gUnloads[b], 1);
  EXPECT_EQ(gUnloads[c], 1);
}

TEST(BenchGpu, ASecondUnloadIsRefusedBeforeTheDriver) {
  cuda::Driver d = fakeDriver();
  cuda::CUmodule a;
  {
    bench::Gpu g(&d, "test");
    a = g.loadModule("cubin-a");
    EXPECT_TRUE(g.unloadModule(a));
    testing::internal::CaptureStderr();
    EXPECT_FALSE(g.unloadModule(a));
    EXPECT_NE(testing::internal::GetCapturedStderr().find("not loaded here"), std::string::npos);
    EXPECT_TRUE(g.failed());
    EXPECT_FALSE(g.unloadModule(nullptr));
  }
  EXPECT_EQ(gUnloads[a], 1);
  EXPECT_EQ(gUnloads.size(), 1u);
}

TEST(BenchGpu, EventTimesDestroysOnlyCreatedEvents) {
  cuda::Driver d = fakeDriver();
  bench::Gpu g(&d, "test");
  int steps = 0;
  std::vector<float> t = bench::eventTimes(g, 2, 3, [&] { ++steps; });
  EXPECT_EQ(t, std::vector<float>({1.5f, 1.5f, 1.5f}));
  EXPECT_EQ(steps, 5);
  EXPECT_EQ(gEventsCreated, 2);
  EXPECT_EQ(gEventsDestroyed, 2);

  gFailEventCreate = true;
  testing::internal::CaptureStderr();
  t = bench::eventTimes(g, 2, 3, [&] { ++steps; });
  EXPECT_NE(testing::internal::GetCapturedStderr().find("cuEventCreate"), std::string::npos);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(steps, 5); // nothing runs without events
  EXPECT_EQ(gEventsDestroyed, 2);
  EXPECT_TRUE(g.failed());
}

} // namespace
