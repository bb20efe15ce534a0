//===- DimOption.h - `--dim NAME=N | NAME=MIN..MAX` ---------------*- C++ -*-===//
//
// The value of an ONNX dim_param chosen at compile time (issue 14 part 1).
// effc's --dim and effc.compile(dims=...) both end here: the spelling is
// parsed once. Bounds keep a dim symbolic; a kernel without runtime extents
// on CUDA is then the plan's error (unless --host-only). The header needs
// no LLVM/MLIR.
//
#ifndef EFFC_COMPILER_DRIVER_DIMOPTION_H
#define EFFC_COMPILER_DRIVER_DIMOPTION_H

#include "effc/Status.h"

#include <cstdint>
#include <map>
#include <string>

namespace effc {

/// `N` fixes a dim (min == max); `MIN..MAX` (or `..MAX`, MIN 0) keeps it
/// symbolic within the bounds.
struct DimRange {
  int64_t min = 0;
  int64_t max = 0;
  bool isFixed() const { return min == max; }
};

/// The largest dim effc accepts (the importer's limit on ONNX dims).
constexpr int64_t kMaxDimValue = int64_t(1) << 40;

/// Parses `N`, `MIN..MAX` or `..MAX` (the text after `NAME=`).
StatusOr<DimRange> parseDimRange(const std::string &text);

/// How `range` is written after `NAME=` (`5`, `0..255`).
std::string formatDimRange(const DimRange &range);

/// Parses one `--dim NAME=...` spec into `dims`; a second spec for the same
/// NAME is an error naming both.
Status addDimSpec(const std::string &spec, std::map<std::string, DimRange> &dims);

} // namespace effc

#endif
