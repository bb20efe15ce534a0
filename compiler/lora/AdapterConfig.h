//===- AdapterConfig.h - PEFT's adapter_config.json for LoRA ------*- C++ -*-===//
//
// The fields of PEFT's LoraConfig that decide which modules are adapted and
// how, with PEFT's own semantics (peft/tuners/tuners_utils.py
// check_target_module_exists, peft/utils/other.py get_pattern_key). Options
// that change the adapted forward pass beyond plain LoRA (DoRA, LoRA bias,
// modules_to_save, aLoRA, ...) are rejected with a message naming the option.
// Initialization-only options (init_lora_weights, loftq/eva/corda/lora_ga
// configs, dropout) are ignored: note that PiSSA/OLoRA/CorDA/LoftQ adapters
// saved without PEFT's weight conversion expect the residual base weights
// PEFT produced, which is a property of the base model given to effc.
//
#ifndef EFFC_COMPILER_LORA_ADAPTERCONFIG_H
#define EFFC_COMPILER_LORA_ADAPTERCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace effc::lora {

/// Module names are PEFT's: the base model's module path without PEFT's
/// "base_model.model." wrapper, e.g. "model.layers.0.self_attn.q_proj".
struct AdapterConfig {
  int64_t r = 0;
  double loraAlpha = 0;
  /// The base layer stores its weight [in, out] (GPT-2's Conv1D); A and B
  /// have the usual [rank, in] and [out, rank] layout either way.
  bool fanInFanOut = false;
  /// scale = alpha / sqrt(rank) instead of alpha / rank.
  bool useRslora = false;
  std::vector<std::string> targetModules;  // list form
  std::optional<std::string> targetRegex;  // string form (re.fullmatch on the whole name)
  std::vector<std::string> excludeModules; // list form
  std::optional<std::string> excludeRegex; // string form
  /// layers_to_transform (an int is a one-element list); empty: every layer.
  std::vector<int64_t> layersToTransform;
  /// layers_pattern (a string is a one-element list); empty: any ".<name>.<index>.".
  std::vector<std::string> layersPattern;
  /// rank_pattern / alpha_pattern, sorted by pattern. PEFT takes the first
  /// pattern that matches in dict order, and it saves adapter_config.json with
  /// sort_keys=True, so for every file PEFT wrote that order is this one
  /// (llvm::json does not keep the file's order).
  std::vector<std::pair<std::string, int64_t>> rankPattern;
  std::vector<std::pair<std::string, double>> alphaPattern;
};

/// Parses the text of an adapter_config.json; `path` prefixes error messages:
///   "PATH: unsupported option 'use_dora': true (effc implements plain LoRA)".
/// Every regular expression in it is compiled here, so the matching functions
/// below never meet an invalid one.
llvm::Expected<AdapterConfig> parseAdapterConfig(llvm::StringRef text, llvm::StringRef path);
llvm::Expected<AdapterConfig> readAdapterConfig(llvm::StringRef path);

/// PEFT's check_target_module_exists: not excluded by exclude_modules, and
/// either target_modules is a string that re.fullmatch-es the whole name, or
/// the name equals a list entry, or it ends with "." + an entry and its layer
/// index (see layerIndexOf) is in layers_to_transform when that is given.
bool isTargeted(const AdapterConfig &config, llvm::StringRef moduleKey);

/// Whether the list entry `target` of target_modules selects `moduleKey`:
/// equal, or moduleKey ends with "." + target.
bool targetEntryMatches(llvm::StringRef target, llvm::StringRef moduleKey);

/// The layer index PEFT reads from a module name for layers_to_transform:
/// re.match(r".*\.{p}\.(\d+)\.", key) for each layers_pattern p in turn, or
/// r".*\.[^.]*\.(\d+)\." without one: the last ".<name>.<index>." in the name
/// ("model.layers.3.mlp.down_proj" -> 3).
std::optional<int64_t> layerIndexOf(const AdapterConfig &config, llvm::StringRef moduleKey);

/// The rank and alpha of a module: the value of the first rank_pattern /
/// alpha_pattern key p with re.match(rf"(.*\.)?({p})$", key), else r /
/// lora_alpha. So "q_proj" selects every q_proj and "layers.0.self_attn.q_proj"
/// one of them.
int64_t rankForModule(const AdapterConfig &config, llvm::StringRef moduleKey);
double alphaForModule(const AdapterConfig &config, llvm::StringRef moduleKey);

} // namespace effc::lora

#endif
