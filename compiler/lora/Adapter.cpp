//===- Adapter.cpp - a PEFT LoRA adapter directory, loaded ----------------===//
#include "compiler/lora/Adapter.h"

#include "compiler/lora/PyRegex.h"
#include "compiler/lora/Safetensors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace effc::lora {
namespace {

constexpr llvm::StringLiteral kPeftPrefix = "base_model.model.";
constexpr llvm::StringLiteral kASuffix = ".lora_A.weight";
constexpr llvm::StringLiteral kBSuffix = ".lora_B.weight";

llvm::Error fail(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), (path + ": " + msg).str());
}

std::string showShape(llvm::ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(shape, [](int64_t d) { return std::to_string(d); }), ", ") +
         "]";
}

std::string joinPath(llvm::StringRef dir, llvm::StringRef file) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

/// The A and B tensors of one module.
struct TensorPair {
  const SafetensorInfo *a = nullptr, *b = nullptr;
};

/// Checks one module's tensors against each other and the config, and reads them.
llvm::Expected<LoraModule> loadModule(const SafetensorsFile &file, const AdapterConfig &config,
                                      llvm::StringRef key, const TensorPair &pair,
                                      llvm::StringRef configPath) {
  llvm::StringRef path = file.path();
  if (!pair.a || !pair.b)
    return fail(path, "module '" + key + "' has " + (pair.a ? "lora_A" : "lora_B") +
                          ".weight but no " + (pair.a ? "lora_B" : "lora_A") + ".weight");
  const std::vector<int64_t> &aShape = pair.a->shape, &bShape = pair.b->shape;
  if (aShape.size() != 2)
    return fail(path, "tensor '" + pair.a->name + "' has shape " + showShape(aShape) +
                          ", expected [rank, in_features]");
  if (bShape.size() != 2)
    return fail(path, "tensor '" + pair.b->name + "' has shape " + showShape(bShape) +
                          ", expected [out_features, rank]");
  if (aShape[0] != bShape[1] || aShape[0] == 0 || aShape[1] == 0 || bShape[0] == 0)
    return fail(path, "module '" + key + "': lora_A.weight " + showShape(aShape) +
                          " and lora_B.weight " + showShape(bShape) +
                          " are not [rank, in_features] and [out_features, rank] of one rank > 0");

  if (!isTargeted(config, key))
    return fail(path, "module '" + key + "' has LoRA weights but " + configPath +
                          " does not target it (target_modules, exclude_modules, "
                          "layers_to_transform)");
  LoraModule m;
  m.key = key.str();
  m.rank = aShape[0];
  m.inFeatures = aShape[1];
  m.outFeatures = bShape[0];
  int64_t expectedRank = rankForModule(config, key);
  if (m.rank != expectedRank)
    return fail(path, llvm::formatv("module '{0}' has rank {1} but {2} gives it rank {3} "
                                    "(r / rank_pattern)",
                                    key, m.rank, configPath, expectedRank)
                          .str());
  m.alpha = alphaForModule(config, key);
  m.scale = config.useRslora ? m.alpha / std::sqrt(double(m.rank)) : m.alpha / double(m.rank);

  llvm::Expected<std::vector<float>> a = file.readAsFloat32(*pair.a);
  if (!a)
    return a.takeError();
  llvm::Expected<std::vector<float>> b = file.readAsFloat32(*pair.b);
  if (!b)
    return b.takeError();
  m.a = std::move(*a);
  m.b = std::move(*b);
  return m;
}

} // namespace

const LoraModule *LoraAdapter::findModule(llvm::StringRef key) const {
  auto it = std::lower_bound(modules.begin(), modules.end(), key,
                             [](const LoraModule &m, llvm::StringRef k) { return m.key < k; });
  return it != modules.end() && it->key == key ? &*it : nullptr;
}

llvm::Expected<LoraAdapter> loadLoraAdapter(llvm::StringRef dir, llvm::StringRef name) {
  if (!llvm::sys::fs::is_directory(dir))
    return fail(dir, "not a directory (expected a PEFT adapter directory holding "
                     "adapter_config.json and adapter_model.safetensors)");
  std::string configPath = joinPath(dir, "adapter_config.json");
  llvm::Expected<AdapterConfig> config = readAdapterConfig(configPath);
  if (!config)
    return config.takeError();

  std::string weightsPath = joinPath(dir, "adapter_model.safetensors");
  if (!llvm::sys::fs::exists(weightsPath) &&
      llvm::sys::fs::exists(joinPath(dir, "adapter_model.bin")))
    return fail(dir, "adapter_model.bin (a PyTorch pickle) is not supported; save the adapter "
                     "with safe_serialization=True to get adapter_model.safetensors");
  llvm::Expected<SafetensorsFile> file = SafetensorsFile::open(weightsPath);
  if (!file)
    return file.takeError();

  std::map<std::string, TensorPair> byModule;
  for (const SafetensorInfo &t : file->tensors()) {
    llvm::StringRef key = t.name;
    key.consume_front(kPeftPrefix);
    bool isA = key.consume_back(kASuffix);
    if (!isA && !key.consume_back(kBSuffix))
      return fail(weightsPath, "tensor '" + t.name +
                                   "' is not a LoRA weight (effc reads "
                                   "base_model.model.<module>.lora_A.weight and .lora_B.weight)");
    if (key.empty() || key.size() > kMaxRegexSubjectLength)
      return fail(weightsPath, "tensor '" + t.name + "' has no usable module name");
    const SafetensorInfo *&slot = isA ? byModule[key.str()].a : byModule[key.str()].b;
    if (slot)
      return fail(weightsPath, "tensors '" + slot->name + "' and '" + t.name +
                                   "' are the same weight of module '" + key + "'");
    slot = &t;
  }
  if (byModule.empty())
    return fail(weightsPath, "holds no LoRA weights");

  LoraAdapter adapter;
  static_cast<AdapterConfig &>(adapter) = std::move(*config);
  adapter.name = name.str();
  adapter.dir = dir.str();
  for (const auto &[key, pair] : byModule) {
    llvm::Expected<LoraModule> m = loadModule(*file, adapter, key, pair, configPath);
    if (!m)
      return m.takeError();
    adapter.modules.push_back(std::move(*m));
  }
  return adapter;
}

bool modulePathMatches(llvm::StringRef onnxModulePath, llvm::StringRef peftKey) {
  return targetEntryMatches(peftKey, onnxModulePath);
}

} // namespace effc::lora
