//===- DimOption.cpp - `--dim NAME=N | NAME=MIN..MAX` ---------------------===//
#include "compiler/driver/DimOption.h"

#include "llvm/ADT/StringRef.h"

using namespace llvm;

namespace effc {
namespace {

/// A dim bound: a decimal integer in [0, kMaxDimValue].
bool parseBound(StringRef text, int64_t &value) {
  return !text.getAsInteger(10, value) && value >= 0 && value <= kMaxDimValue;
}

} // namespace

StatusOr<DimRange> parseDimRange(const std::string &text) {
  const std::string expected = "expects N or MIN..MAX (non-negative integers up to 2^40)";
  StringRef spec(text);
  DimRange range;
  if (!spec.contains("..")) {
    if (!parseBound(spec, range.min))
      return Status::error("'" + text + "': " + expected);
    range.max = range.min;
    return range;
  }
  auto [min, max] = spec.split("..");
  if ((!min.empty() && !parseBound(min, range.min)) || !parseBound(max, range.max))
    return Status::error("'" + text + "': " + expected);
  if (range.min > range.max)
    return Status::error("'" + text + "': MIN is larger than MAX");
  return range;
}

std::string formatDimRange(const DimRange &range) {
  if (range.isFixed())
    return std::to_string(range.min);
  return std::to_string(range.min) + ".." + std::to_string(range.max);
}

Status addDimSpec(const std::string &spec, std::map<std::string, DimRange> &dims) {
  auto [name, value] = StringRef(spec).split('=');
  if (name.empty() || !StringRef(spec).contains('='))
    return Status::error("--dim expects NAME=N or NAME=MIN..MAX, got '" + spec + "'");
  StatusOr<DimRange> range = parseDimRange(value.str());
  if (!range.ok())
    return Status::error("--dim " + name.str() + ": " + range.status().message());
  auto [it, inserted] = dims.emplace(name.str(), *range);
  if (!inserted)
    return Status::error("--dim " + name.str() + "=" + formatDimRange(it->second) + " and --dim " +
                         spec + " both set the dim '" + name.str() + "'; give it once");
  return Status::OK();
}

} // namespace effc
