#include "DimExpr.h"

#include "runtime/proto/artifact.pb.h"

#include <algorithm>

namespace effc {

DimExpr DimExpr::constant(int64_t value) {
  DimExpr e;
  e.addTerm(value, {});
  return e;
}

DimExpr DimExpr::dim(uint32_t id) {
  DimExpr e;
  e.addTerm(1, {id});
  return e;
}

void DimExpr::addTerm(int64_t coeff, std::vector<uint32_t> dims) {
  std::sort(dims.begin(), dims.end());
  auto it = std::lower_bound(
      terms_.begin(), terms_.end(), dims, [](const Term &t, const std::vector<uint32_t> &d) {
        return t.dims.size() != d.size() ? t.dims.size() < d.size() : t.dims < d;
      });
  if (it != terms_.end() && it->dims == dims) {
    it->coeff += coeff;
    if (it->coeff == 0)
      terms_.erase(it);
    return;
  }
  if (coeff != 0)
    terms_.insert(it, Term{coeff, std::move(dims)});
}

int64_t DimExpr::constantTerm() const {
  return !terms_.empty() && terms_[0].dims.empty() ? terms_[0].coeff : 0;
}

uint32_t DimExpr::numDimsUsed() const {
  uint32_t n = 0;
  for (const Term &t : terms_)
    for (uint32_t d : t.dims)
      n = std::max(n, d + 1);
  return n;
}

std::optional<int64_t> DimExpr::eval(const std::vector<int64_t> &values) const {
  int64_t sum = 0;
  for (const Term &t : terms_) {
    int64_t product = t.coeff;
    for (uint32_t d : t.dims) {
      if (d >= values.size() || __builtin_mul_overflow(product, values[d], &product))
        return std::nullopt;
    }
    if (__builtin_add_overflow(sum, product, &sum))
      return std::nullopt;
  }
  return sum;
}

std::optional<std::pair<int64_t, int64_t>>
DimExpr::range(const std::vector<DimBound> &bounds) const {
  std::vector<uint32_t> used;
  for (const Term &t : terms_)
    for (uint32_t d : t.dims)
      if (std::find(used.begin(), used.end(), d) == used.end())
        used.push_back(d);
  if (used.size() > 16)
    return std::nullopt;
  std::vector<int64_t> values(bounds.size(), 0);
  std::optional<std::pair<int64_t, int64_t>> result;
  for (uint32_t corner = 0; corner < (1u << used.size()); ++corner) {
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i] >= bounds.size())
        return std::nullopt;
      values[used[i]] = (corner >> i) & 1 ? bounds[used[i]].max : bounds[used[i]].min;
    }
    std::optional<int64_t> v = eval(values);
    if (!v)
      return std::nullopt;
    if (!result)
      result = std::make_pair(*v, *v);
    result->first = std::min(result->first, *v);
    result->second = std::max(result->second, *v);
  }
  return result;
}

std::string DimExpr::toString(const std::vector<std::string> &names) const {
  if (terms_.empty())
    return "0";
  // The constant last: "past+3".
  std::vector<Term> ordered(terms_.begin() + (terms_[0].dims.empty() ? 1 : 0), terms_.end());
  if (terms_[0].dims.empty())
    ordered.push_back(terms_[0]);
  std::string text;
  for (const Term &t : ordered) {
    int64_t magnitude = t.coeff < 0 ? -t.coeff : t.coeff;
    text += t.coeff < 0 ? "-" : text.empty() ? "" : "+";
    std::string factors;
    for (uint32_t d : t.dims)
      factors +=
          (factors.empty() ? "" : "*") + (d < names.size() ? names[d] : "d" + std::to_string(d));
    if (factors.empty())
      text += std::to_string(magnitude);
    else
      text += (magnitude == 1 ? "" : std::to_string(magnitude) + "*") + factors;
  }
  return text;
}

void DimExpr::toProto(artifact::DimExpr &proto) const {
  proto.clear_terms();
  for (const Term &t : terms_) {
    artifact::DimTerm *term = proto.add_terms();
    term->set_coeff(t.coeff);
    for (uint32_t d : t.dims)
      term->add_dims(d);
  }
}

StatusOr<DimExpr> DimExpr::fromProto(const artifact::DimExpr &proto, uint32_t numDims) {
  DimExpr e;
  for (const artifact::DimTerm &term : proto.terms()) {
    if (term.coeff() == 0)
      return Status::error("a dim expression term has coefficient 0");
    if (term.dims_size() > 8)
      return Status::error("a dim expression term has " + std::to_string(term.dims_size()) +
                           " factors (at most 8)");
    for (uint32_t d : term.dims())
      if (d >= numDims)
        return Status::error("a dim expression names dim " + std::to_string(d) +
                             ", but the model has " + std::to_string(numDims) + " dims");
    e.addTerm(term.coeff(), {term.dims().begin(), term.dims().end()});
  }
  return e;
}

} // namespace effc
