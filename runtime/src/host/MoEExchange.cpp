// eff.expert_dispatch / eff.expert_combine in one process (the reference the host
// backend runs, whose simulated devices' buffers are all in this address
// space): the token rows, routing rows and expert outputs moved as the
// all-to-alls move them (MoEExchange.h says which rows go where).
#include "host/MoEExchange.h"
#include "host/KernelUtil.h"

#include <cstring>

namespace effc::host {
namespace {

struct Plan {
  size_t n = 0;
  int64_t k = 0;
  std::vector<int64_t> splits, tokens;
  std::vector<std::vector<int64_t>> experts; // [device] the routing, widened
  std::vector<std::vector<int64_t>> counts;  // [from][to]
};

/// The routing of the n devices: inputs first .. first + n - 1, [T_i, k].
StatusOr<Plan> planOf(const KernelContext &c, size_t kinds, size_t first) {
  Plan p;
  auto devices = c.intsAttr("devices");
  if (!devices.ok())
    return devices.status();
  auto splits = c.intsAttr("expert_splits");
  if (!splits.ok())
    return splits.status();
  p.n = devices->size();
  p.splits = *splits;
  if (p.n == 0 || c.in.size() != kinds * p.n || p.splits.size() != p.n + 1)
    return c.error(std::to_string(c.in.size()) + " inputs, " + std::to_string(p.n) +
                   " devices and " + std::to_string(p.splits.size()) + " expert splits (want " +
                   std::to_string(kinds) + " inputs a device and devices + 1 splits)");
  for (size_t i = 0; i < p.n; ++i) {
    const ConstTensorRef &e = c.in[first + i];
    if (e.shape.size() != 2 || (i && e.shape[1] != p.k))
      return c.error("experts_" + std::to_string(i) + " is " + shapeToString(e.shape) +
                     " (want [T, k], k the same on every device)");
    p.k = e.shape[1];
    p.tokens.push_back(e.shape[0]);
    std::vector<int64_t> rows(count(e.shape));
    for (size_t x = 0; x < rows.size(); ++x)
      rows[x] = loadI(e.dtype, e.data, x);
    p.experts.push_back(std::move(rows));
  }
  std::vector<const int64_t *> rows;
  for (const auto &e : p.experts)
    rows.push_back(e.data());
  p.counts = exchangeCounts(rows, p.tokens, p.k, p.splits);
  return p;
}

/// inputs x_i, experts_i, weights_i; outputs x_j, experts_j, weights_j.
Status dispatch(const KernelContext &c) {
  auto plan = planOf(c, 3, c.in.size() / 3);
  if (!plan.ok())
    return plan.status();
  const Plan &p = *plan;
  const size_t n = p.n;
  if (c.out.size() != 3 * n)
    return c.error(std::to_string(c.out.size()) + " outputs for " + std::to_string(n) +
                   " devices (want 3 a device)");
  int64_t capacity = 0;
  for (int64_t t : p.tokens)
    capacity += t;
  const int64_t H = c.in[0].shape.size() == 2 ? c.in[0].shape[1] : -1;
  for (size_t i = 0; i < n; ++i)
    if (c.in[i].shape != std::vector<int64_t>{p.tokens[i], H} || c.in[i].dtype != c.in[0].dtype ||
        c.in[2 * n + i].shape != std::vector<int64_t>{p.tokens[i], p.k})
      return c.error("device " + std::to_string(i) + ": x " + shapeToString(c.in[i].shape) +
                     ", weights " + shapeToString(c.in[2 * n + i].shape) + " for " +
                     std::to_string(p.tokens[i]) + " tokens of width " + std::to_string(H));
  for (size_t j = 0; j < n; ++j) {
    EFFC_RETURN_IF_ERROR(c.checkOut(j, c.in[0].dtype, {capacity, H}));
    EFFC_RETURN_IF_ERROR(c.checkOut(n + j, DType::INT64, {capacity, p.k}));
    EFFC_RETURN_IF_ERROR(c.checkOut(2 * n + j, DType::FLOAT32, {capacity, p.k}));
  }
  const size_t rowBytes = size_t(H) * dtypeSize(c.in[0].dtype);
  for (size_t j = 0; j < n; ++j) {
    int64_t r = 0;
    for (size_t i = 0; i < n; ++i)
      for (int64_t t = 0; t < p.tokens[i]; ++t) {
        const int64_t *e = p.experts[i].data() + t * p.k;
        if (!routesTo(e, p.k, p.splits, j))
          continue;
        std::memcpy(static_cast<uint8_t *>(c.out[j].data) + size_t(r) * rowBytes,
                    static_cast<const uint8_t *>(c.in[i].data) + size_t(t) * rowBytes, rowBytes);
        for (int64_t s = 0; s < p.k; ++s) {
          storeI(DType::INT64, c.out[n + j].data, size_t(r * p.k + s), e[s]);
          storeF(DType::FLOAT32, c.out[2 * n + j].data, size_t(r * p.k + s),
                 loadF(c.in[2 * n + i].dtype, c.in[2 * n + i].data, size_t(t * p.k + s)));
        }
        ++r;
      }
    // Padding: no token, no expert.
    std::memset(static_cast<uint8_t *>(c.out[j].data) + size_t(r) * rowBytes, 0,
                size_t(capacity - r) * rowBytes);
    for (int64_t x = r * p.k; x < capacity * p.k; ++x) {
      storeI(DType::INT64, c.out[n + j].data, size_t(x), -1);
      storeF(DType::FLOAT32, c.out[2 * n + j].data, size_t(x), 0.0);
    }
  }
  return Status::OK();
}

/// inputs y_j, experts_i; outputs o_i.
Status combine(const KernelContext &c) {
  auto plan = planOf(c, 2, c.in.size() / 2);
  if (!plan.ok())
    return plan.status();
  const Plan &p = *plan;
  const size_t n = p.n;
  if (c.out.size() != n)
    return c.error(std::to_string(c.out.size()) + " outputs for " + std::to_string(n) +
                   " devices (want one a device)");
  int64_t capacity = 0;
  for (int64_t t : p.tokens)
    capacity += t;
  const DType dtype = c.in[0].dtype;
  const int64_t H = c.in[0].shape.size() == 2 ? c.in[0].shape[1] : -1;
  for (size_t j = 0; j < n; ++j)
    if (c.in[j].shape != std::vector<int64_t>{capacity, H} || c.in[j].dtype != dtype)
      return c.error("y_" + std::to_string(j) + " is " + shapeToString(c.in[j].shape) + " (want [" +
                     std::to_string(capacity) + ", " + std::to_string(H) + "])");
  for (size_t i = 0; i < n; ++i)
    EFFC_RETURN_IF_ERROR(c.checkOut(i, dtype, {p.tokens[i], H}));
  std::vector<int64_t> offset(n, 0); // [j]: device i's first row in y_j
  std::vector<float> acc(size_t(std::max<int64_t>(H, 0)));
  for (size_t i = 0; i < n; ++i) {
    std::vector<int64_t> row = offset;
    for (int64_t t = 0; t < p.tokens[i]; ++t) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      const int64_t *e = p.experts[i].data() + t * p.k;
      for (size_t j = 0; j < n; ++j) {
        if (!routesTo(e, p.k, p.splits, j))
          continue;
        const size_t base = size_t(row[j]++ * H);
        for (int64_t h = 0; h < H; ++h)
          acc[size_t(h)] += float(loadF(dtype, c.in[j].data, base + size_t(h)));
      }
      for (int64_t h = 0; h < H; ++h)
        storeF(dtype, c.out[i].data, size_t(t * H + h), acc[size_t(h)]);
    }
    for (size_t j = 0; j < n; ++j)
      offset[j] += p.counts[i][j];
  }
  return Status::OK();
}

} // namespace

void registerMoEExchange(Registry &r) {
  r[EffOp::ExpertDispatchOp] = {dispatch, 3, -1, 3, -1};
  r[EffOp::ExpertCombineOp] = {combine, 2, -1, 1, -1};
}

} // namespace effc::host
