#include "Compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace effc::run {
namespace {

// |got - ref|: 0 where both are the same value or both NaN, inf where only
// one is NaN.
double absError(double g, double r) {
  if ((std::isnan(g) && std::isnan(r)) || g == r)
    return 0;
  double e = std::fabs(g - r);
  return std::isnan(e) ? INFINITY : e;
}

// Index of the largest value in v[0, n) (NaN never wins); -1 if all are NaN.
int64_t argmax(const std::vector<double> &v) {
  int64_t best = -1;
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isnan(v[i]) && (best < 0 || v[i] > v[size_t(best)]))
      best = int64_t(i);
  return best;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

} // namespace

Comparison compareTensors(const HostTensor &got, const HostTensor &ref, const Tolerances &tol) {
  Comparison c;
  if (got.shape() != ref.shape()) {
    c.shapesMatch = false;
    c.maxAbsErr = c.maxRelErr = c.worstRowRelErr = INFINITY;
    return c;
  }
  const int64_t n = ref.numElements();
  const int64_t rowLen = ref.shape().empty() ? 1 : std::max<int64_t>(ref.shape().back(), 1);
  c.rows = ref.shape().empty() ? 1 : (ref.shape().back() == 0 ? 0 : n / rowLen);
  c.hasTop1 = isFloatDType(ref.dtype()) && ref.shape().size() >= 2 && ref.shape().back() >= 2;

  double maxRef = 0;
  for (int64_t i = 0; i < n; ++i) {
    double r = ref.elementAsDouble(i);
    if (std::isfinite(r))
      maxRef = std::max(maxRef, std::fabs(r));
    c.maxAbsErr = std::max(c.maxAbsErr, absError(got.elementAsDouble(i), r));
  }
  c.maxRelErr = c.maxAbsErr == 0 ? 0 : maxRef > 0 ? c.maxAbsErr / maxRef : INFINITY;
  c.globalPass = c.maxRelErr <= tol.rtol || c.maxAbsErr <= tol.atol;

  c.rowsPass = true;
  std::vector<double> g(static_cast<size_t>(rowLen)), r(static_cast<size_t>(rowLen));
  for (int64_t row = 0; row < c.rows; ++row) {
    double rowErr = 0, rowRef = 0;
    for (int64_t j = 0; j < rowLen; ++j) {
      g[size_t(j)] = got.elementAsDouble(row * rowLen + j);
      r[size_t(j)] = ref.elementAsDouble(row * rowLen + j);
      rowErr = std::max(rowErr, absError(g[size_t(j)], r[size_t(j)]));
      if (std::isfinite(r[size_t(j)]))
        rowRef = std::max(rowRef, std::fabs(r[size_t(j)]));
    }
    double scale = std::max(rowRef, kRowScaleFloor * maxRef);
    double rel = rowErr == 0 ? 0 : scale > 0 ? rowErr / scale : INFINITY;
    if (rel > c.worstRowRelErr || row == 0)
      c.worstRowRelErr = rel, c.worstRow = row;
    if (rel > tol.rowRtol && rowErr > tol.atol)
      c.rowsPass = false;

    if (!c.hasTop1)
      continue;
    int64_t best = argmax(r);
    if (best < 0)
      continue;
    double second = -INFINITY;
    for (int64_t j = 0; j < rowLen; ++j)
      if (j != best && !std::isnan(r[size_t(j)]))
        second = std::max(second, r[size_t(j)]);
    if (!(r[size_t(best)] - second > tol.top1Margin * scale))
      continue; // a near-tie
    ++c.top1Decisive;
    int64_t gotBest = argmax(g);
    // A tie in the output between its argmax and the reference's counts as agreement.
    if (gotBest == best || (gotBest >= 0 && g[size_t(gotBest)] == g[size_t(best)]))
      ++c.top1Agree;
  }
  c.top1Pass = !c.hasTop1 || c.top1Decisive == 0 ||
               double(c.top1Agree) >= tol.minTop1 * double(c.top1Decisive);
  return c;
}

std::string describe(const Comparison &c, const Tolerances &tol) {
  std::string s = "max_abs_err=" + fmt(c.maxAbsErr) + " max_rel_err=" + fmt(c.maxRelErr) +
                  (c.pass() ? " PASS" : " FAIL");
  if (!c.shapesMatch)
    return s + " (shape mismatch)";
  s += " row_rel_err=" + fmt(c.worstRowRelErr) + " (row " + std::to_string(c.worstRow) + " of " +
       std::to_string(c.rows) + ")";
  if (c.hasTop1)
    s += " top1=" + std::to_string(c.top1Agree) + "/" + std::to_string(c.top1Decisive);
  std::string failed;
  auto add = [&](const std::string &what) { failed += (failed.empty() ? "" : ", ") + what; };
  if (!c.globalPass)
    add("max_rel_err > " + fmt(tol.rtol));
  if (!c.rowsPass)
    add("row_rel_err > " + fmt(tol.rowRtol));
  if (!c.top1Pass)
    add("top1 < " + fmt(tol.minTop1));
  if (!failed.empty())
    s += " [failed: " + failed + "]";
  return s;
}

} // namespace effc::run
