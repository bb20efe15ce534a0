// Extents that depend on the symbolic dims of a model (`--dim past=0..255`):
// a polynomial with int64 coefficients over dim ids (in practice multilinear,
// e.g. past+3 or batch*seq). MLIR-free: the compiler's plan writes them into
// the manifest, the runtime evaluates them per run.
#pragma once

#include "effc/Status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace effc {
namespace artifact {
class DimExpr;
}

/// One symbolic dim of a model and its bounds (inclusive).
struct DimBound {
  std::string name;
  int64_t min = 0, max = 0;
};

class DimExpr {
public:
  /// coeff * product of the dims (ids, sorted; a repeated id is a power).
  struct Term {
    int64_t coeff = 0;
    std::vector<uint32_t> dims;
    bool operator==(const Term &o) const { return coeff == o.coeff && dims == o.dims; }
  };

  DimExpr() = default;
  static DimExpr constant(int64_t value);
  static DimExpr dim(uint32_t id);
  /// Adds coeff * prod(dims) (kept canonical: sorted terms, no zero coefficient).
  void addTerm(int64_t coeff, std::vector<uint32_t> dims);

  const std::vector<Term> &terms() const { return terms_; }
  bool isConstant() const {
    return terms_.empty() || (terms_.size() == 1 && terms_[0].dims.empty());
  }
  /// The constant term (the value when isConstant()).
  int64_t constantTerm() const;
  /// The largest dim id used + 1 (0 for a constant).
  uint32_t numDimsUsed() const;
  bool operator==(const DimExpr &o) const { return terms_ == o.terms_; }

  /// The value at `values` (indexed by dim id); nullopt on int64 overflow or a
  /// dim id without a value.
  std::optional<int64_t> eval(const std::vector<int64_t> &values) const;
  /// Smallest and largest value over the box of `bounds` (corners: exact for a
  /// multilinear expression); nullopt on overflow or more than 16 dims used.
  std::optional<std::pair<int64_t, int64_t>> range(const std::vector<DimBound> &bounds) const;

  /// "past+3", "2*batch*seq" (dims by name; "d<i>" where `names` has none).
  std::string toString(const std::vector<std::string> &names = {}) const;

  void toProto(artifact::DimExpr &proto) const;
  /// Fails when a term names a dim id >= numDims, has a zero coefficient or
  /// more than 8 factors.
  static StatusOr<DimExpr> fromProto(const artifact::DimExpr &proto, uint32_t numDims);

private:
  std::vector<Term> terms_;
};

} // namespace effc
