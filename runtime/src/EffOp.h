// Op ids of the eff dialect for code without LLVM/MLIR (host kernels, the
// host backend, the CUDA emitters): one enumerator per op of the generated
// EffOpList.inc (effc-tblgen -gen-eff-op-list over the dialect's ODS),
// so an op's name is spelled in ODS only; code dispatches on these ids and
// never compares against a hand-written "eff.xxx" string.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace effc {

enum class EffOp : uint16_t {
#define EFF_KERNEL_OP(CLASS, NAME) CLASS,
#define EFF_REGION_OP(CLASS, NAME) CLASS,
#define EFF_COMPILE_TIME_OP(CLASS, NAME) CLASS,
#define EFF_COLLECTIVE_OP(CLASS, NAME) CLASS,
#include "EffOpList.inc"
};

namespace detail {
struct EffOpEntry {
  std::string_view name;
  EffOp op;
};
// In the list's order, which is sorted by name (lookupEffOp bisects it).
inline constexpr EffOpEntry kEffOps[] = {
#define EFF_KERNEL_OP(CLASS, NAME) {NAME, EffOp::CLASS},
#define EFF_REGION_OP(CLASS, NAME) {NAME, EffOp::CLASS},
#define EFF_COMPILE_TIME_OP(CLASS, NAME) {NAME, EffOp::CLASS},
#define EFF_COLLECTIVE_OP(CLASS, NAME) {NAME, EffOp::CLASS},
#include "EffOpList.inc"
};
constexpr bool effOpsSortedAndIndexed() {
  for (size_t i = 0; i < std::size(kEffOps); ++i)
    if (size_t(kEffOps[i].op) != i || (i > 0 && !(kEffOps[i - 1].name < kEffOps[i].name)))
      return false;
  return true;
}
static_assert(effOpsSortedAndIndexed(), "EffOpList.inc lists each op once, sorted by name");
} // namespace detail

/// "eff.add" for EffOp::AddOp.
inline std::string_view opName(EffOp op) { return detail::kEffOps[size_t(op)].name; }

/// The op named `name` ("eff.add"), or nullopt for a name the dialect lacks.
inline std::optional<EffOp> lookupEffOp(std::string_view name) {
  const auto *end = std::end(detail::kEffOps);
  const auto *it =
      std::lower_bound(std::begin(detail::kEffOps), end, name,
                       [](const detail::EffOpEntry &e, std::string_view n) { return e.name < n; });
  if (it == end || it->name != name)
    return std::nullopt;
  return it->op;
}

/// True when `name` is the name of `op`.
inline bool isOp(std::string_view name, EffOp op) { return name == opName(op); }

/// True for the ops that join several devices' work (ODS Eff_Collective:
/// eff.all_reduce, eff.all_gather): the runtime runs them through
/// Collectives.h, never as a generated CUDA kernel.
inline bool isCollectiveOp(EffOp op) {
  switch (op) {
#define EFF_COLLECTIVE_OP(CLASS, NAME) case EffOp::CLASS:
#include "EffOpList.inc"
    return true;
  default:
    return false;
  }
}

/// The ODS default of each defaulted attribute, as `ClassName_attr`
/// (op_defaults::LayerNormOp_epsilon): host kernels and emitters fall back to
/// the value the dialect declares instead of restating it.
namespace op_defaults {
#define EFF_ATTR_DEFAULT(CLASS, ATTR, VALUE) inline constexpr auto CLASS##_##ATTR = VALUE;
#include "EffOpList.inc"
} // namespace op_defaults

} // namespace effc
