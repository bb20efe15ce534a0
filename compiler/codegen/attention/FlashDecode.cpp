//===- FlashDecode.cpp - split-KV decode kernels and their plan -----------===//
//
// The kernels' tiles and the split count come from the kernel model
// (compiler/kernelmodel/AttentionModel.h: chooseFlashDecodeTiles,
// chooseFlashDecodeSplits); this file writes the config structs and wrappers.
// Where the keys are cut is splitKvChunk (host/SplitKvAttention.h), shared
// with the host kernels: a multiple of the KV tile BN.
//
#include "compiler/codegen/attention/AttentionTemplates.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "host/SplitKvAttention.h"

#include <string>

namespace effc::codegen {

namespace {

std::string I(int64_t v) { return std::to_string(v); }

/// The split (or direct) kernel: config struct + extern "C" wrapper.
std::string splitKernelSource(const AttentionSpec &sp, const FlashDecodeTiles &t, int splits,
                              bool direct, const std::string &name,
                              const AttentionRuntimeExtents *rt) {
  const int64_t chunk = splitKvChunk(sp.L, splits);
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s;
  s += "// split-KV decode" + std::string(direct ? " (direct)" : " partial") + ": q [" + I(sp.B) +
       "," + I(sp.Hq) + "," + I(sp.S) + "," + I(sp.D) + "] kv [" + I(sp.B) + "," + I(sp.Hkv) + "," +
       I(sp.L) + "] splits=" + I(splits) + " chunk=" + I(chunk) +
       " rows/CTA=" + I(16 * t.rowSlices) + " stages=" + I(t.stages) + ", " + I(t.sharedBytes) +
       " B shared" + (rt ? " (bounds; runtime extents)" : "") + "\n";
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp);
  s += "  static constexpr int NW = " + I(t.warps) + ", STAGES = " + I(t.stages) +
       ", RT = " + I(t.rowSlices) + ", ROWS_TOTAL = " + I((sp.Hq / sp.Hkv) * sp.S) +
       ", CHUNK = " + I(chunk) + ";\n";
  s += std::string("  static constexpr bool DIRECT = ") + (direct ? "true" : "false") + ";\n";
  if (rt) { // the run's chunk: splitKvChunk(L, SPLITS) on the device
    s += "  static constexpr int SPLITS = " + I(splits) + ", KEY_ALIGN = " + I(kSplitKvKeyAlign) +
         ";\n";
    s += attentionRuntimeConfig(*rt);
  }
  s += "};\n";
  s += "EFFC_KERNEL void __launch_bounds__(" + I(32 * t.warps) + ") " + name +
       attentionParams(sp, !direct, rt != nullptr) + " {\n";
  s += "  effc_attn::decode_split<" + cfg + ">(in0, in1, in2, " + attentionMaskArg(sp) +
       ", out0, " + (direct ? "nullptr" : "out1") + (rt ? ", effc_dims" : "") + ");\n}\n";
  return s;
}

LaunchDims splitLaunch(const AttentionSpec &sp, const FlashDecodeTiles &t, int splits,
                       const AttentionRuntimeExtents *rt) {
  LaunchDims l;
  l.grid[0] = uint32_t(splits);
  l.grid[1] = uint32_t(sp.Hkv * t.rowBlocks);
  l.grid[2] = uint32_t(sp.B);
  l.block[0] = uint32_t(32 * t.warps);
  l.sharedBytes = uint32_t(t.sharedBytes);
  if (rt) // batch of this run (row blocks stay at the bound: CTAs past the run's rows leave)
    l.followRuntime(2, rt->B, 1, l.grid[2]);
  return l;
}

} // namespace

LaunchDims flashDecodePartialLaunch(const AttentionSpec &spec, int splits,
                                    const AttentionRuntimeExtents *runtime) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  return splitLaunch(sp, chooseFlashDecodeTiles(sp), splits, runtime);
}

LaunchDims flashDecodeCombineLaunch(const AttentionSpec &spec,
                                    const AttentionRuntimeExtents *runtime) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  LaunchDims launch;
  launch.grid[0] = uint32_t((sp.B * sp.Hq * sp.S + 3) / 4); // one warp per row
  launch.block[0] = 128;
  if (runtime) // rows of this run
    launch.followRuntime(0, runtime->B * Extent(sp.Hq) * runtime->S, 4, launch.grid[0]);
  return launch;
}

std::string emitFlashDecodePartial(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch, const AttentionRuntimeExtents *runtime) {
  if (!flashDecodeApplicable(spec) || splits < 1 || splits > 65535)
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const FlashDecodeTiles t = chooseFlashDecodeTiles(sp);
  if (launch)
    *launch = splitLaunch(sp, t, splits, runtime);
  return splitKernelSource(sp, t, splits, /*direct=*/false, name, runtime);
}

std::string emitFlashDecodeCombine(const AttentionSpec &spec, int splits, const std::string &name,
                                   LaunchDims *launch, const AttentionRuntimeExtents *runtime) {
  const AttentionSpec sp = resolveAttentionStrides(spec);
  if (splits < 1 || sp.B < 1 || sp.Hq < 1 || sp.S < 1 || sp.Dv < 1)
    return "";
  const bool f32 = sp.dtype == DType::FLOAT32, bf = sp.dtype == DType::BFLOAT16;
  if (!f32 && !bf && sp.dtype != DType::FLOAT16)
    return "";
  const int64_t rows = sp.B * sp.Hq * sp.S;
  const std::string cfg = "effc_attn_cfg_" + name;
  std::string s = "// split-KV decode combine: " + I(splits) + " splits of [" + I(sp.B) + "," +
                  I(sp.Hq) + "," + I(sp.S) + "," + I(sp.Dv) + "]\n";
  s += "struct " + cfg + " {\n";
  s += std::string("  typedef ") + (f32 ? "float" : "effc_attn::u16") + " Elem;\n";
  s += std::string("  static constexpr bool OUT_BF = ") + (bf ? "true" : "false") + ";\n";
  s += "  static constexpr int DV = " + I(sp.Dv) + ", SPLITS = " + I(splits) +
       ", HQ = " + I(sp.Hq) + ", S = " + I(sp.S) + ";\n";
  s += "  static constexpr effc_attn::i64 ROWS = " + I(rows) + ", OB = " + I(sp.o.batch) +
       ", OH = " + I(sp.o.head) + ", OS = " + I(sp.o.seq) + ";\n";
  if (runtime)
    s += attentionRuntimeConfig(*runtime);
  s += "};\n";
  s += "EFFC_KERNEL void __launch_bounds__(128) " + name +
       "(const void* __restrict__ in0, const void* __restrict__ in1, void* __restrict__ out0" +
       (runtime ? ", const long long* __restrict__ effc_dims" : "") + ") {\n";
  s += "  effc_attn::decode_combine<" + cfg + ">(in0, in1, out0" + (runtime ? ", effc_dims" : "") +
       ");\n}\n";
  if (launch)
    *launch = flashDecodeCombineLaunch(spec, runtime);
  return s;
}

std::string emitFlashDecode(const AttentionSpec &spec, const std::string &name,
                            FlashDecodePlan *plan) {
  if (!flashDecodeApplicable(spec))
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const FlashDecodeTiles t = chooseFlashDecodeTiles(sp);
  const int splits = chooseFlashDecodeSplits(sp);
  const int64_t rows = sp.B * sp.Hq * sp.S;
  FlashDecodePlan p;
  p.numSplits = splits;
  p.splitKernel = name;
  p.split = splitLaunch(sp, t, splits, nullptr);
  std::string s = splitKernelSource(sp, t, splits, /*direct=*/splits == 1, name, nullptr);
  if (splits > 1) {
    p.partialBytes = int64_t(splits) * rows * sp.Dv * 4;
    p.lseBytes = int64_t(splits) * rows * 4;
    p.combineKernel = name + "_combine";
    s += emitFlashDecodeCombine(sp, splits, p.combineKernel, &p.combine);
  }
  if (plan)
    *plan = p;
  return s;
}

} // namespace effc::codegen
