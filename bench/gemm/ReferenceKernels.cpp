// Reference, fill and compare kernels for effc-gemm-bench (see header).
#include "ReferenceKernels.h"

#include <algorithm>
#include <cstdio>

namespace effc::bench {

using codegen::GemmSpec;
using codegen::LaunchDims;

namespace {

std::string str(int64_t v) { return std::to_string(v) + "LL"; }

std::string flt(float v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.9e", double(v));
  return std::string(buf) + "f";
}

const char *loadFn(DType t) {
  return t == DType::FLOAT32 ? "tcg_ld_f32" : t == DType::FLOAT16 ? "tcg_ld_f16" : "tcg_ld_bf16";
}

int64_t extent(int64_t batch, int64_t batchStride, int64_t rows, int64_t ld, int64_t cols) {
  return (batch > 1 && batchStride > 0 ? (batch - 1) * batchStride : 0) + (rows - 1) * ld + cols;
}

// The typed loads (tcg_ld_*), conversions and EFFC_KERNEL of the GEMM's own
// device code (primitives.cuh + tensor_core_gemm.cuh), include-guarded.
const std::string &helpers() { return codegen::tcgemm::tensorCoreGemmPrelude(); }

} // namespace

int dtypeCode(DType t) { return t == DType::FLOAT32 ? 0 : t == DType::FLOAT16 ? 1 : 2; }

Layout layoutOf(const GemmSpec &s) {
  Layout l;
  l.lda = s.ldA();
  l.ldb = s.ldB();
  l.ldc = s.ldC();
  int64_t rowsA = s.transA ? s.K : s.M, colsA = s.transA ? s.M : s.K;
  int64_t rowsB = s.transB ? s.N : s.K, colsB = s.transB ? s.K : s.N;
  codegen::tcgemm::BatchLoop loop;
  codegen::tcgemm::coalesceBatch(s, loop);
  l.batch = loop.count;
  l.strideA = loop.strideA;
  l.strideB = loop.strideB;
  l.strideC = s.M * l.ldc;
  l.elemsA = extent(l.batch, l.strideA, rowsA, l.lda, colsA);
  l.elemsB = extent(l.batch, l.strideB, rowsB, l.ldb, colsB);
  l.elemsC = extent(l.batch, l.strideC, s.M, l.ldc, s.N);
  l.elemsBias = s.hasBias ? (s.M - 1) * s.biasStrideM + (s.N - 1) * s.biasStrideN + 1 : 0;
  return l;
}

const std::string &supportSource() {
  static const std::string text = helpers() + R"CUDA(
__device__ __forceinline__ unsigned bench_hash(unsigned long long i, unsigned seed) {
  unsigned long long x = i * 0x9E3779B97F4A7C15ULL + seed;
  x ^= x >> 31; x *= 0xBF58476D1CE4E5B9ULL; x ^= x >> 29; x *= 0x94D049BB133111EBULL; x ^= x >> 32;
  return (unsigned)x;
}
EFFC_KERNEL void bench_fill(void *p, long long n, int dtype, unsigned seed) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    float v = (float)(bench_hash(i, seed) >> 8) * (2.0f / 16777216.0f) - 1.0f;
    if (dtype == 0) {
      ((float *)p)[i] = v;
    } else {
      ((unsigned short *)p)[i] = dtype == 1 ? cvt_f32_to_f16(v) : cvt_f32_to_bf16(v);
    }
  }
}
)CUDA";
  return text;
}

std::string referenceSource(const GemmSpec &s, const std::string &name, LaunchDims *launch) {
  Layout l = layoutOf(s);
  std::string o = helpers();
  std::string params = "const void *A, const void *B";
  if (s.hasBias)
    params += ", const void *bias";
  for (int k = s.hasBias ? 3 : 2; k < s.numInputs; ++k)
    params += ", const void *in" + std::to_string(k);
  params += ", float *R";
  o += "EFFC_KERNEL void " + name + "(" + params + ") {\n";
  if (!s.epilogue.empty())
    o += "  auto epilogue = [&](float v, long long bz, int row, int col) -> float {\n" +
         s.epilogue.code + "\n    return v;\n  };\n";
  o += "  __shared__ float As[16][17], Bs[16][17];\n";
  o += "  const int tx = threadIdx.x, ty = threadIdx.y;\n";
  o += "  const long long m = blockIdx.y * 16LL + ty, n = blockIdx.x * 16LL + tx;\n";
  o += "  for (long long bz = blockIdx.z; bz < " + str(l.batch) + "; bz += gridDim.z) {\n";
  o += "    const long long aOff = bz * " + str(l.strideA) + ", bOff = bz * " + str(l.strideB) +
       ";\n";
  o += "    float acc = 0.f;\n";
  o += "    for (long long k0 = 0; k0 < " + str(s.K) + "; k0 += 16) {\n";
  // As[ty][tx] = op(A)[m][k0 + tx]; Bs[ty][tx] = op(B)[k0 + ty][n].
  std::string aIdx =
      s.transA ? "(k0 + tx) * " + str(l.lda) + " + m" : "m * " + str(l.lda) + " + k0 + tx";
  std::string bIdx =
      s.transB ? "n * " + str(l.ldb) + " + k0 + ty" : "(k0 + ty) * " + str(l.ldb) + " + n";
  o += "      As[ty][tx] = (m < " + str(s.M) + " && k0 + tx < " + str(s.K) + ") ? " +
       loadFn(s.aType) + "(A, aOff + " + aIdx + ") : 0.f;\n";
  o += "      Bs[ty][tx] = (n < " + str(s.N) + " && k0 + ty < " + str(s.K) + ") ? " +
       loadFn(s.bType) + "(B, bOff + " + bIdx + ") : 0.f;\n";
  o += "      __syncthreads();\n";
  o += "      for (int kk = 0; kk < 16; ++kk) acc = fmaf(As[ty][kk], Bs[kk][tx], acc);\n";
  o += "      __syncthreads();\n";
  o += "    }\n";
  o += "    if (m < " + str(s.M) + " && n < " + str(s.N) + ") {\n";
  o += "      float v = acc * " + flt(float(s.alpha)) + ";\n";
  if (s.hasBias)
    o += "      v += " + flt(float(s.beta)) + " * " + loadFn(s.biasType) + "(bias, m * " +
         str(s.biasStrideM) + " + n * " + str(s.biasStrideN) + ");\n";
  if (!s.epilogue.empty())
    o += "      v = epilogue(v, bz, (int)m, (int)n);\n";
  o += "      R[(bz * " + str(s.M) + " + m) * " + str(s.N) + " + n] = v;\n";
  o += "    }\n";
  o += "  }\n";
  o += "}\n";
  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t((s.N + 15) / 16);
    launch->grid[1] = uint32_t((s.M + 15) / 16);
    launch->grid[2] = uint32_t(std::min<int64_t>(l.batch, 65535));
    launch->block[0] = 16;
    launch->block[1] = 16;
  }
  return o;
}

std::string compareSource(const GemmSpec &s, const std::string &name, LaunchDims *launch) {
  Layout l = layoutOf(s);
  int64_t total = l.batch * s.M * s.N;
  std::string o = helpers();
  o += "EFFC_KERNEL void " + name + "(const void *C, const float *R, unsigned *out) {\n";
  o += "  float err = 0.f, mag = 0.f;\n";
  o += "  for (long long i = blockIdx.x * 256LL + threadIdx.x; i < " + str(total) +
       "; i += gridDim.x * 256LL) {\n";
  o += "    const long long n = i % " + str(s.N) + ", m = (i / " + str(s.N) + ") % " + str(s.M) +
       ", b = i / " + str(s.M * s.N) + ";\n";
  o += "    const float r = R[i], c = " + std::string(loadFn(s.yType)) + "(C, b * " +
       str(l.strideC) + " + m * " + str(l.ldc) + " + n);\n";
  o += "    const float d = fabsf(c - r);\n";
  // NaN fails every comparison: count it as an infinite error.
  o += "    err = (d <= err) ? err : (d == d ? d : __uint_as_float(0x7f800000u));\n";
  o += "    mag = fmaxf(mag, fabsf(r));\n";
  o += "  }\n";
  o += "  atomicMax(&out[0], __float_as_uint(err));\n";
  o += "  atomicMax(&out[1], __float_as_uint(mag));\n";
  o += "}\n";
  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t(std::min<int64_t>((total + 255) / 256, 4096));
    launch->block[0] = 256;
  }
  return o;
}

} // namespace effc::bench
