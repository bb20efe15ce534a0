//===- effc-fuzz-lora.cpp - libFuzzer target for the LoRA adapter readers -===//
//
// The first byte picks the parser and the rest is the file:
//   even: adapter_model.safetensors: SafetensorsFile::parse, then every tensor
//         read with readAsFloat32 (and looked up by name);
//   odd:  adapter_config.json: parseAdapterConfig, then isTargeted,
//         layerIndexOf, rankForModule and alphaForModule on a few fixed module
//         names and on names built from the config's own entries.
// Both files are untrusted: any crash, abort, sanitizer report or hang is a
// bug, bad input must be an llvm::Error. Run through
// test/fuzz/run-fuzzer.sh SECONDS effc-fuzz-lora.
//
#include "compiler/lora/AdapterConfig.h"
#include "compiler/lora/Safetensors.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

using namespace effc::lora;

namespace {

void fuzzSafetensors(llvm::StringRef bytes) {
  llvm::Expected<SafetensorsFile> file = SafetensorsFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(bytes, "fuzz.safetensors"), "fuzz.safetensors");
  if (!file) {
    llvm::consumeError(file.takeError());
    return;
  }
  for (const SafetensorInfo &tensor : file->tensors()) {
    if (file->find(tensor.name) != &tensor)
      abort(); // tensors() is sorted by name and find must return the entry itself
    llvm::Expected<std::vector<float>> values = file->readAsFloat32(tensor);
    if (!values) {
      llvm::consumeError(values.takeError());
      continue;
    }
    if (values->size() != tensor.numElements)
      abort();
    volatile float sink = 0;
    for (float v : *values)
      sink = sink + v;
  }
}

void fuzzAdapterConfig(llvm::StringRef text) {
  llvm::Expected<AdapterConfig> config = parseAdapterConfig(text, "adapter_config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return;
  }
  std::vector<std::string> names = {
      "",
      "q_proj",
      "model.layers.0.self_attn.q_proj",
      "model.layers.3.mlp.down_proj",
      "transformer.h.1.attn.c_attn",
      "bert.encoder.layer.11.attention.self.query",
      "model.layers.x.self_attn.v_proj",
      "model.layers.99999999999999999999.self_attn.q_proj",
      ".",
      "a..b",
  };
  // Names the config itself selects: its list entries under a layer path.
  for (const std::string &t : config->targetModules) {
    names.push_back(t);
    names.push_back("model.layers.2." + t);
  }
  for (const std::string &p : config->layersPattern)
    names.push_back("model." + p + ".1.q_proj");
  for (const auto &rank : config->rankPattern)
    names.push_back("model.layers.0." + rank.first);
  for (const auto &alpha : config->alphaPattern)
    names.push_back("model.layers.0." + alpha.first);
  if (names.size() > 64)
    names.resize(64);
  for (const std::string &name : names) {
    (void)isTargeted(*config, name);
    (void)layerIndexOf(*config, name);
    if (rankForModule(*config, name) <= 0)
      abort(); // r and every rank_pattern value were checked positive
    (void)alphaForModule(*config, name);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  llvm::StringRef rest(reinterpret_cast<const char *>(data) + 1, size - 1);
  if (data[0] & 1)
    fuzzAdapterConfig(rest);
  else
    fuzzSafetensors(rest);
  return 0;
}
