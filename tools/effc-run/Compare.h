// Comparing an output with its reference (effc-run --test-data): the global
// metric, a per-row metric that a large row cannot hide a small row's error
// behind, and top-1 (argmax) agreement per row for logits-like outputs.
#pragma once

#include "effc/Tensor.h"

#include <cstdint>
#include <string>

namespace effc::run {

struct Tolerances {
  /// Global: PASS when max|got-ref| / max|ref| <= rtol ...
  double rtol = 1e-4;
  /// ... or max|got-ref| <= atol. atol also passes a row whose error is <= atol.
  double atol = 0;
  /// Every row (the last axis): max|got-ref| over the row / the row's scale
  /// must be <= rowRtol. The row's scale is max|ref| over the row, but at
  /// least kRowScaleFloor * max|ref| over the tensor, so an (almost) all-zero
  /// row is judged against the tensor's magnitude instead of dividing by ~0.
  double rowRtol = 4e-4;
  /// Top-1: of the rows where the reference's argmax is decisive, at least
  /// this fraction must have the same argmax in the output.
  double minTop1 = 1.0;
  /// A row's argmax is decisive when the reference's top-2 gap exceeds
  /// top1Margin * the row's scale; closer calls are near-ties and not counted
  /// (any rounding may flip them).
  double top1Margin = 1e-4;
};

/// Rows whose max|ref| is below this fraction of the tensor's max|ref| are
/// measured against that floor (see Tolerances::rowRtol).
constexpr double kRowScaleFloor = 1e-3;

struct Comparison {
  bool shapesMatch = true;
  double maxAbsErr = 0, maxRelErr = 0;
  /// The worst row by relative error and its index (row-major over the
  /// leading axes); rows = number of rows.
  double worstRowRelErr = 0;
  int64_t worstRow = 0, rows = 0;
  /// Top-1 applies to float outputs of rank >= 2 whose last dim is >= 2.
  bool hasTop1 = false;
  int64_t top1Decisive = 0, top1Agree = 0;
  bool globalPass = false, rowsPass = false, top1Pass = false;
  bool pass() const { return globalPass && rowsPass && top1Pass; }
};

Comparison compareTensors(const HostTensor &got, const HostTensor &ref, const Tolerances &tol);

/// "max_abs_err=E max_rel_err=R PASS|FAIL row_rel_err=W (row I of N) top1=A/D"
/// (top1 only where it applies; a FAIL names the checks that failed).
std::string describe(const Comparison &c, const Tolerances &tol);

} // namespace effc::run
