// CUDA emission of the standalone LoRA kernels (lora_expand when not fused,
// lora_linear when eff-decompose-lora is skipped) without a GPU: the dtype
// and index-type matrix compiles with NVRTC (when libnvrtc is present), and
// inconsistent descriptions are errors naming the problem. The fused GEMM
// epilogue is covered by test/lit/codegen/lora-epilogue.test and the
// nvrtc-lora-epilogues-* ctests.
#include "compiler/codegen/KernelEmitter.h"

#include "cuda/Nvrtc.h"

#include <gtest/gtest.h>

using namespace effc;
using namespace effc::codegen;

namespace {

TensorDesc tensor(DType t, std::vector<int64_t> shape) {
  TensorDesc d;
  d.dtype = t;
  d.shape = std::move(shape);
  return d;
}

KernelDesc kernel(const std::string &op, std::vector<TensorDesc> in, TensorDesc out,
                  host::Attrs attrs) {
  static int counter = 0;
  KernelDesc d;
  d.op = op;
  d.name = kernelName(size_t(counter++), op);
  d.inputs = std::move(in);
  d.outputs = {std::move(out)};
  d.attrs = std::move(attrs);
  return d;
}

/// lora_expand over acc [2, 8, 32] with t [2, 8, 24] read from column 8:
/// stacked (n = 2, R = 8, lora_index [2] of `index`) or one adapter (R = 8).
KernelDesc expand(DType t, DType index, bool stacked) {
  std::vector<TensorDesc> in = {tensor(t, {2, 8, 32}), tensor(t, {2, 8, 24}),
                                stacked ? tensor(t, {2, 8, 32}) : tensor(t, {8, 32})};
  if (stacked)
    in.push_back(tensor(index, {2}));
  return kernel("eff.lora_expand", in, tensor(t, {2, 8, 32}),
                {{"scale", 0.5}, {"t_offset", int64_t(8)}});
}

/// lora_linear over x [16, 64], w [64, 32], stacked (n = 3, R = 4) or one adapter.
KernelDesc linear(DType t, DType index, bool stacked) {
  std::vector<TensorDesc> in = {tensor(t, {16, 64}), tensor(t, {64, 32}),
                                stacked ? tensor(t, {3, 64, 4}) : tensor(t, {64, 4}),
                                stacked ? tensor(t, {3, 4, 32}) : tensor(t, {4, 32})};
  if (stacked)
    in.push_back(tensor(index, {4}));
  return kernel("eff.lora_linear", in, tensor(t, {16, 32}), {{"scale", 2.0}});
}

} // namespace

TEST(LoRACodegen, KernelsOfEveryDtypeCompileWithNvrtc) {
  CudaTranslationUnit tu;
  for (DType t : {DType::FLOAT32, DType::FLOAT16, DType::BFLOAT16, DType::FLOAT64})
    for (DType index : {DType::INT64, DType::INT32})
      for (bool stacked : {true, false})
        for (const KernelDesc &d : {expand(t, index, stacked), linear(t, index, stacked)}) {
          std::string error;
          std::optional<CudaKernel> k = emitCudaKernel(d, error);
          ASSERT_TRUE(k.has_value()) << d.op << ": " << error;
          tu.add(*k);
        }
  Status nvrtcLoaded = nvrtc::load();
  ASSERT_TRUE(nvrtcLoaded.ok()) << "libnvrtc not loadable: " << nvrtcLoaded.message();
  for (const char *arch : {"sm_80", "sm_90"}) {
    auto compiled = nvrtc::compile(tu.source(), nvrtc::compileOptions(arch, {}));
    ASSERT_TRUE(compiled.ok()) << arch << ": " << compiled.status().message();
    EXPECT_EQ(compiled->log.find("warning"), std::string::npos) << compiled->log;
  }
}

TEST(LoRACodegen, ExpandIndexesRowsAndSkipsMissingAdapters) {
  std::string error;
  std::optional<CudaKernel> k = emitCudaKernel(expand(DType::BFLOAT16, DType::INT32, true), error);
  ASSERT_TRUE(k) << error;
  // 16 rows in 2 groups; adapter g's R = 8 columns start at 8 + g * 8.
  EXPECT_NE(k->source.find("const long long ls_g = (long long)x3[ls_row / 8];"), std::string::npos)
      << k->source;
  EXPECT_NE(k->source.find("if (ls_g >= 0 && ls_g < 2) {"), std::string::npos);
  EXPECT_NE(k->source.find("x1 + ls_row * 24 + 8 + ls_g * 8;"), std::string::npos);
  EXPECT_NE(k->source.find("bf16_to_f32(ls_t[ls_r]) * bf16_to_f32(ls_b[(long long)ls_r * 32])"),
            std::string::npos);
}

TEST(LoRACodegen, ErrorsNameTheProblem) {
  std::string error;
  KernelDesc bad = expand(DType::FLOAT32, DType::INT64, true);
  bad.inputs[2] = tensor(DType::FLOAT32, {8, 32}); // stacked needs [n, R, N]
  EXPECT_FALSE(emitCudaKernel(bad, error));
  EXPECT_EQ(error, "eff.lora_expand: b must be [n, R, N] with lora_index, got [8x32]");
  bad = expand(DType::FLOAT32, DType::INT64, true);
  bad.attrs["t_offset"] = int64_t(16);
  EXPECT_FALSE(emitCudaKernel(bad, error));
  EXPECT_EQ(error, "eff.lora_expand: t has 24 columns but the adapters read [16, 32)");
  bad = linear(DType::FLOAT32, DType::INT64, true);
  bad.inputs[4] = tensor(DType::INT64, {3});
  EXPECT_FALSE(emitCudaKernel(bad, error));
  EXPECT_EQ(error, "eff.lora_linear: 16 rows do not split into lora_index's 3 groups");
  bad = linear(DType::FLOAT32, DType::INT64, false);
  bad.inputs[2] = tensor(DType::FLOAT32, {32, 4});
  EXPECT_FALSE(emitCudaKernel(bad, error));
  EXPECT_EQ(error, "eff.lora_linear: a must be [64x4], got [32x4]");
}
