// eff.lora_linear and eff.lora_expand (effc's own ops, see
// dialects/eff/ops/LoRAOps.td):
//   lora_linear(x [..., K], w [K, N], a, b, [lora_index]) {scale}
//     y = x w + scale * (x a_g) b_g
//   lora_expand(acc [..., N], t [..., C], b, [lora_index]) {scale, t_offset}
//     y = acc + scale * t[:, t_offset + g R : t_offset + (g + 1) R] b_g
// One adapter: a [K, R], b [R, N], no lora_index (g = 0). Stacked: a [n, K, R],
// b [n, R, N], lora_index [batch]; rows (leading dims flattened) split into
// `batch` equal consecutive groups and group i uses adapter lora_index[i]; an
// index outside [0, n) means no adapter. Math in float (double for float64),
// rounded once on store.
#include "host/KernelUtil.h"

#include <algorithm>

namespace effc::host {
namespace {

template <typename T> std::vector<T> widen(const ConstTensorRef &t) {
  std::vector<T> v(count(t.shape));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = T(loadF(t.dtype, t.data, i));
  return v;
}

/// b's layout and which adapter each row uses.
struct Adapters {
  int64_t n = 1, R = 0, N = 0;
  bool stacked = false;
  std::vector<int64_t> index; // per group (stacked only)
  int64_t rowsPerGroup = 1;

  /// The adapter of `row`, or -1 for none.
  int64_t of(int64_t row) const {
    if (!stacked)
      return 0;
    int64_t g = index[size_t(row / rowsPerGroup)];
    return g >= 0 && g < n ? g : -1;
  }
};

/// Reads b ([R, N] or, with lora_index at input `indexInput`, [n, R, N]) and
/// the row grouping of `rows` rows.
Status describeAdapters(const KernelContext &c, size_t bInput, size_t indexInput, int64_t rows,
                        Adapters &ad) {
  const ConstTensorRef &b = c.in[bInput];
  ad.stacked = c.has(indexInput);
  size_t rank = ad.stacked ? 3 : 2;
  if (b.shape.size() != rank)
    return c.error(std::string("b must be ") +
                   (ad.stacked ? "[n, R, N] with lora_index" : "[R, N] without lora_index") +
                   ", got " + shapeToString(b.shape));
  ad.n = ad.stacked ? b.shape[0] : 1;
  ad.R = b.shape[rank - 2];
  ad.N = b.shape[rank - 1];
  if (!ad.stacked)
    return Status::OK();
  if (c.in[indexInput].shape.size() != 1)
    return c.error("lora_index must be 1-D [batch], got " + shapeToString(c.in[indexInput].shape));
  auto index = c.ints(indexInput);
  if (!index.ok())
    return index.status();
  ad.index = *index;
  int64_t batch = int64_t(ad.index.size());
  if (batch == 0 ? rows != 0 : rows % batch != 0)
    return c.error(std::to_string(rows) + " rows do not split into lora_index's " +
                   std::to_string(batch) + " groups");
  ad.rowsPerGroup = batch == 0 ? 1 : std::max<int64_t>(1, rows / batch);
  return Status::OK();
}

Status checkFloatOperands(const KernelContext &c, std::initializer_list<size_t> inputs) {
  DType t = c.in[*inputs.begin()].dtype;
  if (!isFloatDType(t))
    return c.error(std::string("unsupported dtype ") + dtypeName(t));
  for (size_t i : inputs)
    if (c.in[i].dtype != t)
      return c.error("float operands must share one dtype");
  return Status::OK();
}

template <typename T> Status loraLinearT(const KernelContext &c, double scale) {
  const ConstTensorRef &x = c.in[0], &w = c.in[1], &a = c.in[2];
  if (x.shape.empty())
    return c.error("x must have rank >= 1");
  int64_t K = x.shape.back(),
          rows = numElements(std::vector<int64_t>(x.shape.begin(), x.shape.end() - 1));
  if (w.shape.size() != 2 || w.shape[0] != K)
    return c.error("w must be [K, N] with K = " + std::to_string(K) + ", got " +
                   shapeToString(w.shape));
  Adapters ad;
  EFFC_RETURN_IF_ERROR(describeAdapters(c, 3, 4, rows, ad));
  int64_t N = w.shape[1], R = ad.R;
  std::vector<int64_t> aShape =
      ad.stacked ? std::vector<int64_t>{ad.n, K, R} : std::vector<int64_t>{K, R};
  if (a.shape != aShape)
    return c.error("a must be " + shapeToString(aShape) + ", got " + shapeToString(a.shape));
  if (ad.N != N)
    return c.error("b has N = " + std::to_string(ad.N) + " but w has N = " + std::to_string(N));
  std::vector<int64_t> yShape(x.shape.begin(), x.shape.end() - 1);
  yShape.push_back(N);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, yShape));
  std::vector<T> X = widen<T>(x), W = widen<T>(w), A = widen<T>(a), B = widen<T>(c.in[3]);
  T s = T(scale);
  parallelFor(rows, K * (N + R) + R * N, [&](int64_t r0, int64_t r1) {
    std::vector<T> y = std::vector<T>(size_t(N)), t = std::vector<T>(size_t(R));
    for (int64_t row = r0; row < r1; ++row) {
      const T *xr = X.data() + row * K;
      std::fill(y.begin(), y.end(), T(0));
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n)
          y[size_t(n)] += xr[k] * W[size_t(k * N + n)];
      if (int64_t g = ad.of(row); g >= 0) {
        const T *ag = A.data() + g * K * R, *bg = B.data() + g * R * N;
        std::fill(t.begin(), t.end(), T(0));
        for (int64_t k = 0; k < K; ++k)
          for (int64_t r = 0; r < R; ++r)
            t[size_t(r)] += xr[k] * ag[k * R + r];
        for (int64_t n = 0; n < N; ++n) {
          T sum = 0;
          for (int64_t r = 0; r < R; ++r)
            sum += t[size_t(r)] * bg[r * N + n];
          y[size_t(n)] += s * sum;
        }
      }
      for (int64_t n = 0; n < N; ++n)
        storeF(x.dtype, c.out[0].data, size_t(row * N + n), y[size_t(n)]);
    }
  });
  return Status::OK();
}

Status loraLinear(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkFloatOperands(c, {0, 1, 2, 3}));
  auto scale = c.floatAttr("scale", op_defaults::LoRALinearOp_scale);
  if (!scale.ok())
    return scale.status();
  return c.in[0].dtype == DType::FLOAT64 ? loraLinearT<double>(c, *scale)
                                         : loraLinearT<float>(c, *scale);
}

template <typename T> Status loraExpandT(const KernelContext &c, double scale, int64_t offset) {
  const ConstTensorRef &acc = c.in[0], &t = c.in[1];
  if (acc.shape.empty())
    return c.error("acc must have rank >= 1");
  std::vector<int64_t> lead(acc.shape.begin(), acc.shape.end() - 1);
  if (t.shape.size() != acc.shape.size() || !std::equal(lead.begin(), lead.end(), t.shape.begin()))
    return c.error("t " + shapeToString(t.shape) + " must have acc's rows (acc is " +
                   shapeToString(acc.shape) + ")");
  int64_t rows = numElements(lead), N = acc.shape.back(), C = t.shape.back();
  Adapters ad;
  EFFC_RETURN_IF_ERROR(describeAdapters(c, 2, 3, rows, ad));
  if (ad.N != N)
    return c.error("b has N = " + std::to_string(ad.N) + " but acc has N = " + std::to_string(N));
  if (offset < 0 || offset + ad.n * ad.R > C)
    return c.error("t has " + std::to_string(C) + " columns but the adapters read [" +
                   std::to_string(offset) + ", " + std::to_string(offset + ad.n * ad.R) + ")");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, acc.dtype, acc.shape));
  std::vector<T> B = widen<T>(c.in[2]);
  T s = T(scale);
  int64_t R = ad.R;
  parallelFor(rows, N * (R + 1), [&](int64_t r0, int64_t r1) {
    std::vector<T> tr = std::vector<T>(size_t(R));
    for (int64_t row = r0; row < r1; ++row) {
      int64_t g = ad.of(row);
      if (g >= 0)
        for (int64_t r = 0; r < R; ++r)
          tr[size_t(r)] = T(loadF(t.dtype, t.data, size_t(row * C + offset + g * R + r)));
      for (int64_t n = 0; n < N; ++n) {
        T v = T(loadF(acc.dtype, acc.data, size_t(row * N + n)));
        if (g >= 0) {
          const T *bg = B.data() + g * R * N + n;
          T sum = 0;
          for (int64_t r = 0; r < R; ++r)
            sum += tr[size_t(r)] * bg[r * N];
          v += s * sum;
        }
        storeF(acc.dtype, c.out[0].data, size_t(row * N + n), v);
      }
    }
  });
  return Status::OK();
}

Status loraExpand(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(checkFloatOperands(c, {0, 1, 2}));
  auto scale = c.floatAttr("scale", op_defaults::LoRAExpandOp_scale);
  auto offset = c.intAttr("t_offset", op_defaults::LoRAExpandOp_t_offset);
  if (!scale.ok())
    return scale.status();
  if (!offset.ok())
    return offset.status();
  return c.in[0].dtype == DType::FLOAT64 ? loraExpandT<double>(c, *scale, *offset)
                                         : loraExpandT<float>(c, *scale, *offset);
}

} // namespace

void registerLoRA(Registry &r) {
  r[EffOp::LoRALinearOp] = {loraLinear, 4, 5, 1, 1};
  r[EffOp::LoRAExpandOp] = {loraExpand, 3, 4, 1, 1};
}

} // namespace effc::host
