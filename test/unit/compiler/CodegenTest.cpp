// CUDA code generation without a GPU: emitter coverage, helpers, launch
// geometry, error paths, and (when libnvrtc is present) that kernels of every
// family compile for sm_80 and sm_90 across dtypes the shared models do not
// exercise (fp16, bf16, fp64, int8, bool).
#include "EffOp.h"
#include "compiler/codegen/KernelEmitter.h"
#include "compiler/codegen/Prelude.h"
#include "compiler/codegen/core/CudaWriter.h"
#include "compiler/codegen/core/EmitterUtil.h"

#include "cuda/Nvrtc.h"
#include "host/HostKernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

using namespace effc;
using namespace effc::codegen;

namespace {

TensorDesc tensor(DType t, std::vector<int64_t> shape) {
  TensorDesc d;
  d.dtype = t;
  d.shape = std::move(shape);
  return d;
}

TensorDesc ints(std::vector<int64_t> values) {
  TensorDesc d = tensor(DType::INT64, {int64_t(values.size())});
  d.constInts = values;
  return d;
}

TensorDesc absent() {
  TensorDesc d;
  d.present = false;
  return d;
}

KernelDesc kernel(const std::string &op, std::vector<TensorDesc> in, std::vector<TensorDesc> out,
                  host::Attrs attrs = {}) {
  static int counter = 0;
  KernelDesc d;
  d.op = op;
  d.name = kernelName(size_t(counter++), op);
  d.inputs = std::move(in);
  d.outputs = std::move(out);
  d.attrs = std::move(attrs);
  return d;
}

/// An elementwise eff.fusion over `in` whose body is `ops` (value indices:
/// inputs first, then each op's result); yields `yielded`.
KernelDesc fusion(std::vector<TensorDesc> in, std::vector<FusedOp> ops, std::vector<int> yielded) {
  std::vector<TensorDesc> out;
  int numInputs = int(in.size());
  for (int v : yielded)
    out.push_back(v < numInputs ? in[size_t(v)] : ops[size_t(v - numInputs)].desc.outputs[0]);
  KernelDesc d =
      kernel("eff.fusion", std::move(in), std::move(out), {{"kind", std::string("elementwise")}});
  d.body = std::move(ops);
  d.bodyOutputs = std::move(yielded);
  return d;
}

FusedOp fused(const std::string &op, std::vector<int> operands, std::vector<TensorDesc> in,
              TensorDesc out, host::Attrs attrs = {}) {
  FusedOp f;
  f.desc.op = op;
  f.desc.inputs = std::move(in);
  f.desc.outputs = {std::move(out)};
  f.desc.attrs = std::move(attrs);
  f.operands = std::move(operands);
  return f;
}

/// x * sigmoid(x) * up in dtype t, [rows, cols] (llama's SwiGLU tail).
KernelDesc swiglu(DType t, int64_t rows, int64_t cols) {
  TensorDesc x = TensorDesc{t, {rows, cols}}, one = TensorDesc{t, {rows, cols}};
  return fusion({x, x},
                {fused("eff.sigmoid", {0}, {x}, one), fused("eff.mul", {0, 2}, {x, x}, one),
                 fused("eff.mul", {3, 1}, {x, x}, one)},
                {4});
}

CudaKernel emitOrFail(const KernelDesc &d) {
  std::string error;
  std::optional<CudaKernel> k = emitCudaKernel(d, error);
  EXPECT_TRUE(k.has_value()) << d.op << ": " << error;
  return k ? *k : CudaKernel{};
}

TEST(CodegenTest, EveryHostKernelHasACudaEmitter) {
  // Collective ops (eff.all_reduce, eff.all_gather) are the exception: the
  // runtime runs them through Collectives.h, never as a generated kernel.
  for (const std::string &op : host::kernelNames()) {
    std::optional<EffOp> id = lookupEffOp(op);
    ASSERT_TRUE(id) << op;
    EXPECT_EQ(hasCudaEmitter(op), !isCollectiveOp(*id)) << op;
  }
  EXPECT_TRUE(hasCudaEmitter("eff.attention"));
  EXPECT_TRUE(hasCudaEmitter("eff.fusion"));
}

TEST(CodegenTest, KernelNamesAreUniqueAndReadable) {
  EXPECT_EQ(kernelName(12, "eff.layer_norm"), "k12_layer_norm");
  EXPECT_EQ(kernelName(0, "eff.top_k"), "k0_top_k");
}

TEST(CodegenTest, LiteralsRoundTrip) {
  EXPECT_EQ(floatLit(1.0f), "1.0f");
  EXPECT_EQ(floatLit(1e-5f), "9.99999975e-06f");
  EXPECT_EQ(floatLit(std::numeric_limits<float>::infinity()), "__int_as_float(0x7f800000)");
  EXPECT_EQ(floatLit(-std::numeric_limits<float>::infinity()), "__int_as_float(0xff800000)");
  EXPECT_EQ(std::strtof(floatLit(0.1f).c_str(), nullptr), 0.1f);
  EXPECT_EQ(doubleLit(2.0), "2.0");
  EXPECT_EQ(i64Lit(std::numeric_limits<int64_t>::min()), "(-9223372036854775807LL - 1)");
}

TEST(CodegenTest, CoalesceMergesContiguousAndBroadcastDims) {
  // [2, 3, 4] + [4]: the output walks all dims contiguously, the operand
  // repeats over the two leading dims (merged into one broadcast dim).
  IndexSpace s;
  s.dims = {2, 3, 4};
  s.strides = {rowMajorStrides(s.dims), broadcastStrides({4}, s.dims)};
  IndexSpace c = coalesce(s);
  ASSERT_EQ(c.dims, (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(c.strides[0], (std::vector<int64_t>{4, 1}));
  EXPECT_EQ(c.strides[1], (std::vector<int64_t>{0, 1}));
  // Same-shape operands collapse to one dim; unit dims disappear.
  s.dims = {2, 1, 5};
  s.strides = {rowMajorStrides(s.dims), rowMajorStrides(s.dims)};
  EXPECT_EQ(coalesce(s).dims, (std::vector<int64_t>{10}));
}

TEST(CodegenTest, ElementwiseKernelHasTheArtifactAbiAndBakedShapes) {
  KernelDesc d = kernel("eff.add", {tensor(DType::FLOAT32, {2, 3, 4}), tensor(DType::FLOAT32, {4})},
                        {tensor(DType::FLOAT32, {2, 3, 4})});
  CudaKernel k = emitOrFail(d);
  EXPECT_EQ(k.name, d.name);
  EXPECT_NE(k.source.find("EFFC_KERNEL void __launch_bounds__(256) " + d.name +
                          "(const void* __restrict__ in0, const void* __restrict__ in1, void* "
                          "__restrict__ out0)"),
            std::string::npos)
      << k.source;
  // 24 elements, innermost dim 4: six threads of 4 (16-byte f32 vectors).
  EXPECT_NE(k.source.find("e < 6"), std::string::npos) << k.source;
  EXPECT_NE(k.source.find("// 4 elements per thread"), std::string::npos) << k.source;
  EXPECT_EQ(k.launch.grid[0], 1u);
  EXPECT_EQ(k.launch.block[0], 256u);
}

TEST(CodegenTest, FusedBodyStaysInRegisters) {
  // (a + bias) -> cast to f16 -> relu, bias [4] broadcast over [6, 5, 4]... and
  // a bool output of the comparison: two yielded values.
  TensorDesc a{DType::FLOAT32, {6, 5, 4}}, bias{DType::FLOAT32, {4}}, h{DType::FLOAT16, {6, 5, 4}},
      f{DType::FLOAT32, {6, 5, 4}}, b{DType::BOOL, {6, 5, 4}};
  KernelDesc d = fusion({a, bias},
                        {fused("eff.add", {0, 1}, {a, bias}, f),
                         fused("eff.cast", {2}, {f}, h, {{"to", int64_t(10)}}),
                         fused("eff.relu", {3}, {h}, h), fused("eff.is_nan", {2}, {f}, b)},
                        {4, 5});
  CudaKernel k = emitOrFail(d);
  // Two outputs in the ABI; the f16 intermediate is rounded like a store.
  EXPECT_NE(
      k.source.find(
          "(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0, "
          "void* __restrict__ out1)"),
      std::string::npos)
      << k.source;
  EXPECT_NE(k.source.find("const float v3 = f16_to_f32(f32_to_f16(v2));  // eff.cast"),
            std::string::npos)
      << k.source;
  // Innermost dim 4: four elements per thread (16-byte f32 accesses), the
  // bias one vector load at a broadcast offset.
  EXPECT_NE(k.source.find("// 4 elements per thread"), std::string::npos) << k.source;
  EXPECT_NE(k.source.find("const effc_vec<float, 4> r1 = *(const effc_vec<float, 4>*)(x1 + o2);"),
            std::string::npos)
      << k.source;
  EXPECT_NE(k.source.find("s1.v[j] = (u8)((v2 != v2));"), std::string::npos) << k.source;
  EXPECT_EQ(k.launch.grid[0], 1u);
  EXPECT_EQ(k.source.find("y0[o0]"), std::string::npos) << k.source;

  // An odd innermost dim: one element per thread.
  CudaKernel odd = emitOrFail(swiglu(DType::BFLOAT16, 3, 7));
  EXPECT_EQ(odd.source.find("elements per thread"), std::string::npos) << odd.source;
  EXPECT_NE(odd.source.find("y0[o0] = f32_to_bf16("), std::string::npos) << odd.source;
}

TEST(CodegenTest, FusedBodyErrorsNameTheOp) {
  std::string error;
  TensorDesc x{DType::FLOAT32, {4}};
  KernelDesc d = fusion({x}, {fused("eff.softmax", {0}, {x}, x)}, {1});
  EXPECT_FALSE(emitCudaKernel(d, error));
  EXPECT_EQ(error, "eff.softmax: not an elementwise op");
}

TEST(CodegenTest, GridStrideLaunchIsCapped) {
  LaunchDims l = gridStrideLaunch(int64_t(1) << 32, 256);
  EXPECT_EQ(l.grid[0], uint32_t(kMaxGridBlocks));
  EXPECT_EQ(gridStrideLaunch(0, 256).grid[0], 1u); // a zero-size launch is invalid
}

TEST(CodegenTest, GemmGeometry) {
  KernelDesc d = kernel(
      "eff.matmul", {tensor(DType::FLOAT32, {3, 1, 100, 70}), tensor(DType::FLOAT32, {5, 70, 130})},
      {tensor(DType::FLOAT32, {3, 5, 100, 130})});
  CudaKernel k = emitOrFail(d);
  EXPECT_EQ(k.launch.grid[0], 2u);  // M tiles
  EXPECT_EQ(k.launch.grid[1], 3u);  // N tiles
  EXPECT_EQ(k.launch.grid[2], 15u); // batch
  // A broadcasts over the second batch dim, B over the first.
  EXPECT_NE(
      k.source.find(
          "BATCH_DIMS[] = {3, 5}, A_BATCH_STRIDES[] = {7000, 0}, B_BATCH_STRIDES[] = {0, 9100};"),
      std::string::npos)
      << k.source;
}

TEST(CodegenTest, ErrorsNameTheProblem) {
  std::string error;
  TensorDesc starts = tensor(DType::INT64, {1}); // not a constant
  KernelDesc slice =
      kernel("eff.slice", {tensor(DType::FLOAT32, {8}), starts, ints({4}), absent(), absent()},
             {tensor(DType::FLOAT32, {4})});
  EXPECT_FALSE(emitCudaKernel(slice, error));
  EXPECT_EQ(error, "eff.slice: starts must be a compile-time constant");
  KernelDesc unknown = kernel("eff.no_such_op", {}, {});
  EXPECT_FALSE(emitCudaKernel(unknown, error));
  EXPECT_EQ(error, "no CUDA emitter for 'eff.no_such_op'");
  KernelDesc reduction = kernel("eff.fusion", {}, {}, {{"kind", std::string("reduction")}});
  EXPECT_FALSE(emitCudaKernel(reduction, error));
  EXPECT_EQ(error, "eff.fusion: no CUDA emitter for fusion kind 'reduction'");
  KernelDesc gelu = kernel("eff.gelu", {tensor(DType::FLOAT32, {4})}, {tensor(DType::FLOAT32, {4})},
                           {{"approximate", std::string("fast")}});
  EXPECT_FALSE(emitCudaKernel(gelu, error));
  EXPECT_NE(error.find("approximate must be 'none' or 'tanh'"), std::string::npos);
}

// One kernel per family and awkward dtype, compiled together by NVRTC.
std::vector<KernelDesc> dtypeMatrix() {
  std::vector<KernelDesc> ks;
  for (DType t : {DType::FLOAT16, DType::BFLOAT16, DType::FLOAT64}) {
    ks.push_back(kernel("eff.gelu", {tensor(t, {3, 5})}, {tensor(t, {3, 5})}));
    ks.push_back(kernel("eff.softmax", {tensor(t, {3, 5000})}, {tensor(t, {3, 5000})}));
    ks.push_back(kernel("eff.layer_norm", {tensor(t, {4, 64}), tensor(t, {64}), tensor(t, {64})},
                        {tensor(t, {4, 64})}));
    ks.push_back(
        kernel("eff.rms_norm", {tensor(t, {4, 2048}), tensor(t, {2048})}, {tensor(t, {4, 2048})}));
    ks.push_back(
        kernel("eff.matmul", {tensor(t, {2, 8, 16}), tensor(t, {16, 4})}, {tensor(t, {2, 8, 4})}));
    ks.push_back(kernel("eff.gemm", {tensor(t, {16, 8}), tensor(t, {4, 16}), tensor(t, {4})},
                        {tensor(t, {8, 4})}, {{"transA", int64_t(1)}, {"transB", int64_t(1)}}));
    ks.push_back(kernel("eff.rope",
                        {tensor(t, {1, 2, 3, 8}), tensor(t, {5, 4}), tensor(t, {5, 4}),
                         tensor(DType::INT64, {1, 3})},
                        {tensor(t, {1, 2, 3, 8})}));
    ks.push_back(kernel("eff.cum_sum", {tensor(t, {3, 4}), ints({1})}, {tensor(t, {3, 4})}));
    ks.push_back(kernel("eff.top_k", {tensor(t, {3, 9}), ints({2})},
                        {tensor(t, {3, 2}), tensor(DType::INT64, {3, 2})}));
    ks.push_back(kernel("eff.reduce_max", {tensor(t, {3, 9}), ints({0})}, {tensor(t, {1, 9})}));
    ks.push_back(
        kernel("eff.cast", {tensor(t, {7})}, {tensor(DType::INT8, {7})}, {{"to", int64_t(3)}}));
    ks.push_back(kernel("eff.pow", {tensor(t, {7}), tensor(DType::INT32, {1})}, {tensor(t, {7})}));
    ks.push_back(kernel("eff.attention",
                        {tensor(t, {1, 4, 5, 16}), tensor(t, {1, 2, 9, 16}),
                         tensor(t, {1, 2, 9, 8}), tensor(DType::BOOL, {5, 9})},
                        {tensor(t, {1, 4, 5, 8})},
                        {{"scale", 0.25}, {"causal", int64_t(1)}, {"window", int64_t(4)}}));
  }
  for (DType t : {DType::INT8, DType::UINT64, DType::INT32}) {
    ks.push_back(kernel("eff.div", {tensor(t, {3, 4}), tensor(t, {4})}, {tensor(t, {3, 4})}));
    ks.push_back(kernel("eff.abs", {tensor(t, {3})}, {tensor(t, {3})}));
    ks.push_back(kernel("eff.reduce_mean", {tensor(t, {3, 4}), ints({-1})}, {tensor(t, {3})},
                        {{"keepdims", int64_t(0)}}));
    ks.push_back(kernel("eff.clip", {tensor(t, {5}), tensor(t, {}), absent()}, {tensor(t, {5})}));
    ks.push_back(
        kernel("eff.cast", {tensor(t, {7})}, {tensor(DType::FLOAT16, {7})}, {{"to", int64_t(10)}}));
  }
  for (DType t : {DType::FLOAT16, DType::BFLOAT16, DType::FLOAT32, DType::FLOAT64}) {
    ks.push_back(swiglu(t, 4, 16)); // vectorized
    ks.push_back(swiglu(t, 3, 5));  // one element per thread
  }
  {
    // Mixed dtypes, a strided (transposed-like) broadcast input, where + clip.
    TensorDesc c{DType::BOOL, {3, 1, 8}}, x{DType::INT32, {3, 4, 8}}, y{DType::INT32, {4, 1}},
        lo{DType::INT32, {}}, f{DType::FLOAT16, {3, 4, 8}};
    ks.push_back(fusion({c, x, y, lo},
                        {fused("eff.where", {0, 1, 2}, {c, x, y}, x),
                         fused("eff.clip", {4, 3, -1}, {x, lo, absent()}, x),
                         fused("eff.cast", {5}, {x}, f, {{"to", int64_t(10)}})},
                        {6, 5}));
  }
  ks.push_back(kernel("eff.xor", {tensor(DType::BOOL, {2, 3}), tensor(DType::BOOL, {3})},
                      {tensor(DType::BOOL, {2, 3})}));
  ks.push_back(kernel("eff.reduce_max", {tensor(DType::BOOL, {2, 3}), absent()},
                      {tensor(DType::BOOL, {1, 1})}));
  ks.push_back(kernel("eff.constant_of_shape", {ints({2, 3})}, {tensor(DType::BFLOAT16, {2, 3})},
                      {{"value", 1.5}}));
  ks.push_back(
      kernel("eff.range",
             {tensor(DType::FLOAT64, {}), tensor(DType::FLOAT64, {}), tensor(DType::FLOAT64, {})},
             {tensor(DType::FLOAT64, {4})}));
  ks.push_back(kernel("eff.gather_nd",
                      {tensor(DType::FLOAT16, {2, 3, 4}), tensor(DType::INT64, {2, 1, 1})},
                      {tensor(DType::FLOAT16, {2, 1, 4})}, {{"batch_dims", int64_t(1)}}));
  ks.push_back(kernel("eff.cum_sum",
                      {tensor(DType::INT32, {3, 4}), tensor(DType::INT32, {})}, // runtime axis
                      {tensor(DType::INT32, {3, 4})}));
  ks.push_back(kernel("eff.split", {tensor(DType::BFLOAT16, {2, 7})},
                      {tensor(DType::BFLOAT16, {2, 4}), tensor(DType::BFLOAT16, {2, 3})},
                      {{"axis", int64_t(1)}, {"num_outputs", int64_t(2)}}));
  return ks;
}

TEST(CodegenTest, DtypeMatrixCompilesWithNvrtc) {
  CudaTranslationUnit tu;
  for (const KernelDesc &d : dtypeMatrix())
    tu.add(emitOrFail(d));
  Status nvrtcLoaded = nvrtc::load();
  ASSERT_TRUE(nvrtcLoaded.ok()) << "libnvrtc not loadable: " << nvrtcLoaded.message();
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto compiled = nvrtc::compile(tu.source(), nvrtc::compileOptions(arch, {}));
    ASSERT_TRUE(compiled.ok()) << arch << ": " << compiled.status().message();
    EXPECT_EQ(compiled->log.find("warning"), std::string::npos) << compiled->log;
  }
}

} // namespace
