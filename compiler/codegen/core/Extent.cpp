//===- Extent.cpp - extents known at compile time or at run time ----------===//
#include "compiler/codegen/core/Extent.h"

#include <algorithm>

namespace effc::codegen {

Extent::Extent(int64_t value) { add({}, value); }

Extent::Extent(const DimExpr &expr) {
  for (const DimExpr::Term &t : expr.terms())
    add(t.dims, t.coeff);
}

Extent Extent::dim(uint32_t id) {
  Extent e;
  e.terms_.clear();
  e.add({id}, 1);
  return e;
}

void Extent::add(const std::vector<uint32_t> &dims, int64_t coeff) {
  std::vector<uint32_t> key = dims;
  std::sort(key.begin(), key.end());
  int64_t &c = terms_[key];
  c += coeff;
  if (c == 0)
    terms_.erase(key);
}

bool Extent::isConstant() const {
  return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty());
}

int64_t Extent::constant() const {
  auto it = terms_.find({});
  return it == terms_.end() ? 0 : it->second;
}

std::string Extent::text() const {
  if (isConstant())
    return std::to_string(constant());
  // Highest-degree terms first, the constant last: "(effc_dims[0] + 3)".
  std::string s;
  for (auto it = terms_.rbegin(); it != terms_.rend(); ++it) {
    const auto &[dims, coeff] = *it;
    std::string term;
    int64_t magnitude = coeff < 0 ? -coeff : coeff;
    if (magnitude != 1 || dims.empty())
      term = std::to_string(magnitude);
    for (uint32_t d : dims)
      term += (term.empty() ? "" : " * ") + std::string("effc_dims[") + std::to_string(d) + "]";
    if (s.empty())
      s = coeff < 0 ? "-" + term : term;
    else
      s += (coeff < 0 ? " - " : " + ") + term;
  }
  return "(" + s + ")";
}

Extent Extent::operator+(const Extent &o) const {
  Extent r = *this;
  for (const auto &[dims, coeff] : o.terms_)
    r.add(dims, coeff);
  return r;
}

Extent Extent::operator-(const Extent &o) const {
  Extent r = *this;
  for (const auto &[dims, coeff] : o.terms_)
    r.add(dims, -coeff);
  return r;
}

Extent Extent::operator*(const Extent &o) const {
  Extent r;
  r.terms_.clear();
  for (const auto &[a, ca] : terms_)
    for (const auto &[b, cb] : o.terms_) {
      std::vector<uint32_t> dims = a;
      dims.insert(dims.end(), b.begin(), b.end());
      r.add(dims, ca * cb);
    }
  return r;
}

std::vector<Extent> toExtents(const std::vector<int64_t> &values) {
  return std::vector<Extent>(values.begin(), values.end());
}

} // namespace effc::codegen
