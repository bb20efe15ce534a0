#include "host/KernelUtil.h"

#include <algorithm>
#include <thread>

namespace effc::host {

StatusOr<int64_t> KernelContext::intAttr(const std::string &name, int64_t dflt) const {
  auto it = attrs.find(name);
  if (it == attrs.end())
    return dflt;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return *v;
  return error("attribute '" + name + "' must be an int");
}

StatusOr<double> KernelContext::floatAttr(const std::string &name, double dflt) const {
  auto it = attrs.find(name);
  if (it == attrs.end())
    return dflt;
  if (auto *v = std::get_if<double>(&it->second))
    return *v;
  if (auto *v = std::get_if<int64_t>(&it->second))
    return double(*v);
  return error("attribute '" + name + "' must be a float");
}

StatusOr<std::string> KernelContext::stringAttr(const std::string &name,
                                                const std::string &dflt) const {
  auto it = attrs.find(name);
  if (it == attrs.end())
    return dflt;
  if (auto *v = std::get_if<std::string>(&it->second))
    return *v;
  return error("attribute '" + name + "' must be a string");
}

StatusOr<std::vector<int64_t>> KernelContext::intsAttr(const std::string &name,
                                                       bool *present) const {
  auto it = attrs.find(name);
  if (present)
    *present = it != attrs.end();
  if (it == attrs.end())
    return std::vector<int64_t>{};
  if (auto *v = std::get_if<std::vector<int64_t>>(&it->second))
    return *v;
  return error("attribute '" + name + "' must be a list of ints");
}

StatusOr<std::vector<int64_t>> KernelContext::ints(size_t i) const {
  if (i < in.size() && !in[i].data && !in[i].shape.empty() && count(in[i].shape) == 0)
    return std::vector<int64_t>{}; // empty tensor without storage
  if (!has(i))
    return error("input " + std::to_string(i) + " is missing");
  const ConstTensorRef &t = in[i];
  if (t.dtype != DType::INT64 && t.dtype != DType::INT32)
    return error("input " + std::to_string(i) + " must be int64 or int32, got " +
                 dtypeName(t.dtype));
  std::vector<int64_t> v(count(t.shape));
  for (size_t k = 0; k < v.size(); ++k)
    v[k] = loadI(t.dtype, t.data, k);
  return v;
}

Status KernelContext::checkOut(size_t i, DType dtype, const std::vector<int64_t> &shape) const {
  if (i >= out.size())
    return error("missing output " + std::to_string(i));
  if (out[i].dtype != dtype)
    return error("output " + std::to_string(i) + " dtype: expected " + dtypeName(dtype) + ", got " +
                 dtypeName(out[i].dtype));
  if (out[i].shape != shape)
    return error("output " + std::to_string(i) + " shape: expected " + shapeToString(shape) +
                 ", got " + shapeToString(out[i].shape));
  if (!out[i].data && count(shape) != 0)
    return error("output " + std::to_string(i) + " has no buffer");
  return Status::OK();
}

Status KernelContext::checkInDType(size_t i, DType t) const {
  if (in[i].dtype != t)
    return error("input " + std::to_string(i) + " dtype: expected " + dtypeName(t) + ", got " +
                 dtypeName(in[i].dtype));
  return Status::OK();
}

std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

StatusOr<int64_t> normalizeAxis(const KernelContext &c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return c.error("axis " + std::to_string(axis) + " out of range for rank " +
                   std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

StatusOr<std::vector<int64_t>> broadcastShapes(const KernelContext &c,
                                               const std::vector<std::vector<int64_t>> &shapes) {
  size_t rank = 0;
  for (auto &s : shapes)
    rank = std::max(rank, s.size());
  std::vector<int64_t> out(rank, 1);
  for (auto &s : shapes) {
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t &o = out[rank - s.size() + k];
      int64_t d = s[k];
      if (d == o || d == 1)
        continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (auto &x : shapes)
        all += (all.empty() ? "" : " vs ") + shapeToString(x);
      return c.error("shapes cannot be broadcast: " + all);
    }
  }
  return out;
}

void forEachBroadcast(const std::vector<int64_t> &outShape,
                      const std::vector<std::vector<int64_t>> &inShapes,
                      const std::function<void(size_t, const size_t *)> &fn) {
  size_t rank = outShape.size(), n = count(outShape), k = inShapes.size();
  // Per input: stride of each output dim (0 where broadcast).
  std::vector<std::vector<int64_t>> st(k, std::vector<int64_t>(rank, 0));
  for (size_t j = 0; j < k; ++j) {
    auto s = stridesOf(inShapes[j]);
    size_t off = rank - inShapes[j].size();
    for (size_t d = 0; d < inShapes[j].size(); ++d)
      st[j][off + d] = inShapes[j][d] == 1 ? 0 : s[d];
  }
  std::vector<int64_t> idx(rank, 0);
  std::vector<size_t> pos(k, 0);
  for (size_t i = 0; i < n; ++i) {
    fn(i, pos.data());
    for (int64_t d = int64_t(rank) - 1; d >= 0; --d) { // odometer increment
      if (++idx[d] < outShape[d]) {
        for (size_t j = 0; j < k; ++j)
          pos[j] += st[j][d];
        break;
      }
      for (size_t j = 0; j < k; ++j)
        pos[j] -= st[j][d] * (outShape[d] - 1);
      idx[d] = 0;
    }
  }
}

void parallelFor(int64_t n, int64_t costPerItem, const std::function<void(int64_t, int64_t)> &fn) {
  int64_t threads = std::max<int64_t>(1, std::thread::hardware_concurrency());
  threads = std::min<int64_t>(threads, n);
  if (threads <= 1 || n * costPerItem < (1 << 16)) {
    if (n > 0)
      fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  int64_t chunk = (n + threads - 1) / threads;
  for (int64_t b = chunk; b < n; b += chunk)
    pool.emplace_back(fn, b, std::min(n, b + chunk));
  fn(0, std::min(n, chunk));
  for (auto &t : pool)
    t.join();
}

} // namespace effc::host
