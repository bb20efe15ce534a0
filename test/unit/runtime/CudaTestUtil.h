// Helpers for the cuda backend / NVRTC tests: requiring NVRTC, scoped
// environment variables, temp dirs, and a tiny hand-written CUDA model.
#pragma once

#include "TestUtil.h"
#include "cuda/Nvrtc.h"

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace effc::test {

/// Fails the current test when libnvrtc cannot be loaded, with the loader's
/// message: the CUDA toolkit's NVRTC is a test requirement (no GPU needed).
#define EFFC_REQUIRE_NVRTC()                                                                       \
  do {                                                                                             \
    ::effc::Status nvrtc_st_ = ::effc::nvrtc::load();                                              \
    ASSERT_TRUE(nvrtc_st_.ok()) << nvrtc_st_.message();                                            \
  } while (0)

/// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old, hadOld_ = true;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { hadOld_ ? setenv(name_.c_str(), old_.c_str(), 1) : unsetenv(name_.c_str()); }

private:
  std::string name_, old_;
  bool hadOld_ = false;
};

/// A fresh directory under $TMPDIR, removed (recursively) at scope exit.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                       std::string("/effc-cuda-test-XXXXXX");
    path_ = mkdtemp(&tmpl[0]) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty())
      (void)!std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// Elementwise kernels over `n` floats, ABI of artifact.proto's Kernel:
/// inputs then outputs. k_big_shared uses 64 KiB of dynamic shared memory.
inline std::string smallCudaSource(int n) {
  std::string N = std::to_string(n);
  return "#define N " + N +
         "\n"
         "extern \"C\" __global__ void k_add(const float* a, const float* b, float* y) {\n"
         "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
         "  if (i < N) y[i] = a[i] + b[i];\n"
         "}\n"
         "extern \"C\" __global__ void k_mul(const float* a, const float* b, float* y) {\n"
         "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
         "  if (i < N) y[i] = a[i] * b[i];\n"
         "}\n"
         "// relu through 64 KiB of dynamic shared memory (needs the opt-in attribute)\n"
         "extern \"C\" __global__ void k_big_shared(const float* x, float* y) {\n"
         "  extern __shared__ float s[];\n"
         "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
         "  int slot = threadIdx.x * 64 + 63;\n"
         "  s[slot] = i < N ? x[i] : 0.f;\n"
         "  __syncthreads();\n"
         "  if (i < N) y[i] = s[slot] > 0.f ? s[slot] : 0.f;\n"
         "}\n";
}

inline void setLaunch(artifact::Kernel *k, const std::string &fn, unsigned grid, unsigned block,
                      unsigned shared = 0) {
  k->set_source(fn);
  k->mutable_launch()->add_grid(grid);
  k->mutable_launch()->add_block(block);
  k->mutable_launch()->set_shared_bytes(shared);
}

/// x [4, 256] (input), W [4, 256] (weight):
///   t = x + W (k_add), tv = t viewed as [1024] (ALIAS), y = tv * tv (k_mul),
///   r = relu(x) (k_big_shared, 64 KiB shared).
/// Outputs y, r and t_flat (the alias itself). Host ops are the eff.* names,
/// so the host backend computes the same thing.
inline ManifestBuilder smallCudaModel(std::string *payload) {
  const int n = 1024;
  ManifestBuilder mb;
  std::vector<float> w(n);
  for (int i = 0; i < n; ++i)
    w[i] = float((i * 7) % 13) * 0.25f - 1.5f;
  int x = mb.buffer("x", DType::FLOAT32, {4, 256});
  int wid = mb.weight("W", {4, 256}, w);
  int t = mb.buffer("t", DType::FLOAT32, {4, 256});
  int tv = mb.alias("tv", t, 0, DType::FLOAT32, {n});
  int y = mb.buffer("y", DType::FLOAT32, {n});
  int r = mb.buffer("r", DType::FLOAT32, {4, 256});
  setLaunch(mb.kernel("eff.add", {x, wid}, {t}), "k_add", 4, 256);
  setLaunch(mb.kernel("eff.mul", {tv, tv}, {y}), "k_mul", 8, 128);
  setLaunch(mb.kernel("eff.relu", {x}, {r}), "k_big_shared", 4, 256, 64 * 1024);
  mb.input("x", x);
  mb.output("y", y);
  mb.output("r", r);
  mb.output("t_flat", tv);
  *payload = smallCudaSource(n);
  mb.m.set_cuda_source_offset(0);
  mb.m.set_cuda_source_size(payload->size());
  return mb;
}

/// smallCudaModel where relu writes x in place (r becomes xv, an ALIAS of the
/// input x) and one more output, t_tail, is a view into the middle of t: the
/// cuda backend must copy a caller's device x (a kernel writes it) and copy
/// both such outputs out (no whole arena root to write into).
inline ManifestBuilder inPlaceCudaModel(std::string *payload) {
  ManifestBuilder mb = smallCudaModel(payload);
  const int x = 0, t = 2; // buffer ids in smallCudaModel
  int xv = mb.alias("xv", x, 0, DType::FLOAT32, {4, 256});
  mb.m.mutable_kernels(2)->mutable_outputs()->Set(0, xv);
  mb.m.mutable_outputs(1)->set_buffer(uint32_t(xv));
  int tail = mb.alias("t_tail", t, 2048, DType::FLOAT32, {512});
  mb.output("t_tail", tail);
  return mb;
}

/// ManifestBuilder::bytes() with a payload.
inline std::string bytesWithPayload(ManifestBuilder &mb, const std::string &payload) {
  artifact::Manifest copy = mb.m;
  for (auto &b : *copy.mutable_buffers())
    if (!b.size_bytes())
      b.set_size_bytes(uint64_t(numElements({b.shape().begin(), b.shape().end()})) *
                       dtypeSize(DType(b.dtype())));
  planArenaWithoutReuse(copy);
  auto s = serializeArtifact(copy, mb.weights, payload);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : std::string();
}

} // namespace effc::test
