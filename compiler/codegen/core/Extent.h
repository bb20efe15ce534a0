//===- Extent.h - a tensor extent known at compile time or at run time -*- C++ -*-===//
//
// With bounded dims (`effc --dim past=0..255`) some extents are polynomials of
// the model's dims (past+3, batch*seq), known only when a run binds them. An
// Extent is such a polynomial over dim ids (a constant when it has no dim), with
// the arithmetic index math needs. Kernels read the dims' values from their
// trailing `effc_dims` argument (dim id = index), so an Extent prints as CUDA
// text: a constant as its digits (exactly what emitters print for an int64, so
// static kernels are unchanged), a symbolic one as "(effc_dims[0] + 3)".
//
#ifndef EFFC_COMPILER_CODEGEN_EXTENT_H
#define EFFC_COMPILER_CODEGEN_EXTENT_H

#include "DimExpr.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace effc::codegen {

class Extent {
public:
  Extent(int64_t value = 0); // implicit: a static extent
  Extent(int value) : Extent(int64_t(value)) {}
  explicit Extent(const DimExpr &expr);
  static Extent dim(uint32_t id);

  bool isConstant() const;
  /// The constant term (the value when isConstant()).
  int64_t constant() const;
  /// CUDA text: digits for a constant, else a parenthesized expression over
  /// effc_dims (long long).
  std::string text() const;

  Extent operator+(const Extent &o) const;
  Extent operator-(const Extent &o) const;
  Extent operator*(const Extent &o) const;
  Extent &operator*=(const Extent &o) { return *this = *this * o; }
  Extent &operator+=(const Extent &o) { return *this = *this + o; }
  bool operator==(const Extent &o) const { return terms_ == o.terms_; }
  /// coefficient per sorted product of dim ids ({}: the constant term).
  const std::map<std::vector<uint32_t>, int64_t> &terms() const { return terms_; }
  bool operator!=(const Extent &o) const { return !(*this == o); }

private:
  /// coefficient per sorted product of dim ids ({} = the constant term); no
  /// zero coefficients, so equal polynomials compare equal.
  std::map<std::vector<uint32_t>, int64_t> terms_;
  void add(const std::vector<uint32_t> &dims, int64_t coeff);
};

std::vector<Extent> toExtents(const std::vector<int64_t> &values);

} // namespace effc::codegen

#endif
