// MatMul (numpy semantics incl. batch broadcast and 1-D operands) and Gemm-13.
// Operands are widened to float (double for float64/integers) once, rows are
// split over threads.
#include "host/KernelUtil.h"

namespace effc::host {
namespace {

template <typename T> std::vector<T> widen(const ConstTensorRef &t) {
  std::vector<T> v(count(t.shape));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = T(loadF(t.dtype, t.data, i));
  return v;
}

bool matmulDType(DType t) { return isFloatDType(t) || isIntDType(t); }

template <typename T> Status matmulT(const KernelContext &c) {
  const ConstTensorRef &a = c.in[0], &b = c.in[1];
  if (a.shape.empty() || b.shape.empty())
    return c.error("operands must have rank >= 1");
  // transB: b is a 2-D weight stored [N, K]; the product reads its transpose.
  auto tb = c.intAttr("transB", op_defaults::MatMulOp_transB);
  if (!tb.ok())
    return tb.status();
  if (*tb != 0 && (*tb != 1 || b.shape.size() != 2))
    return c.error("transB = 1 needs a 2-D b ([N, K]), got transB = " + std::to_string(*tb) +
                   " and b " + shapeToString(b.shape));
  std::vector<int64_t> as = a.shape, bs = b.shape;
  if (*tb)
    std::swap(bs[0], bs[1]);
  bool vecA = as.size() == 1, vecB = bs.size() == 1;
  if (vecA)
    as.insert(as.begin(), 1);
  if (vecB)
    bs.push_back(1);
  int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K)
    return c.error("inner dims differ: " + shapeToString(a.shape) + " x " + shapeToString(b.shape));
  std::vector<int64_t> ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  auto batch = broadcastShapes(c, {ab, bb});
  if (!batch.ok())
    return batch.status();
  std::vector<int64_t> oshape = *batch;
  if (!vecA)
    oshape.push_back(M);
  if (!vecB)
    oshape.push_back(N);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, a.dtype, oshape));
  // Batch offsets of A and B for each output batch.
  std::vector<size_t> offA, offB;
  forEachBroadcast(*batch, {ab, bb}, [&](size_t, const size_t *idx) {
    offA.push_back(idx[0]);
    offB.push_back(idx[1]);
  });
  std::vector<T> A = widen<T>(a), B = widen<T>(b);
  if (*tb) { // [N, K] -> [K, N], so the loop below reads one layout
    std::vector<T> kn(B.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        kn[size_t(k * N + n)] = B[size_t(n * K + k)];
    B = std::move(kn);
  }
  int64_t rows = int64_t(offA.size()) * M;
  parallelFor(rows, K * N, [&](int64_t r0, int64_t r1) {
    std::vector<T> acc(N);
    for (int64_t r = r0; r < r1; ++r) {
      int64_t bi = r / M, m = r % M;
      const T *pa = A.data() + offA[bi] * M * K + m * K;
      const T *pb = B.data() + offB[bi] * K * N;
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < K; ++k) {
        T av = pa[k];
        const T *row = pb + k * N;
        for (int64_t n = 0; n < N; ++n)
          acc[n] += av * row[n];
      }
      for (int64_t n = 0; n < N; ++n)
        storeF(a.dtype, c.out[0].data, size_t(r * N + n), acc[n]);
    }
  });
  return Status::OK();
}

Status matmul(const KernelContext &c) {
  if (c.in[0].dtype != c.in[1].dtype)
    return c.error("operand dtypes differ");
  if (!matmulDType(c.in[0].dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(c.in[0].dtype));
  bool wide = c.in[0].dtype == DType::FLOAT64 || isIntDType(c.in[0].dtype);
  return wide ? matmulT<double>(c) : matmulT<float>(c);
}

template <typename T> Status gemmT(const KernelContext &c) {
  const ConstTensorRef &a = c.in[0], &b = c.in[1];
  auto alpha = c.floatAttr("alpha", op_defaults::GemmOp_alpha),
       beta = c.floatAttr("beta", op_defaults::GemmOp_beta);
  auto ta = c.intAttr("transA", op_defaults::GemmOp_transA),
       tb = c.intAttr("transB", op_defaults::GemmOp_transB);
  for (auto *s : {&alpha, &beta})
    if (!s->ok())
      return s->status();
  for (auto *s : {&ta, &tb})
    if (!s->ok())
      return s->status();
  if (a.shape.size() != 2 || b.shape.size() != 2)
    return c.error("A and B must be 2-D");
  int64_t M = *ta ? a.shape[1] : a.shape[0], K = *ta ? a.shape[0] : a.shape[1];
  int64_t Kb = *tb ? b.shape[1] : b.shape[0], N = *tb ? b.shape[0] : b.shape[1];
  if (K != Kb)
    return c.error("inner dims differ: " + shapeToString(a.shape) + " x " + shapeToString(b.shape));
  bool hasC = c.in.size() > 2 && c.has(2);
  std::vector<int64_t> cs = hasC ? c.in[2].shape : std::vector<int64_t>{};
  if (hasC) {
    auto bc = broadcastShapes(c, {cs, {M, N}});
    if (!bc.ok() || *bc != std::vector<int64_t>{M, N})
      return c.error("C " + shapeToString(cs) + " does not broadcast to [M, N]");
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, a.dtype, {M, N}));
  std::vector<T> A = widen<T>(a), B = widen<T>(b), C;
  std::vector<size_t> cIdx;
  if (hasC) {
    C = widen<T>(c.in[2]);
    forEachBroadcast({M, N}, {cs}, [&](size_t, const size_t *idx) { cIdx.push_back(idx[0]); });
  }
  T al = T(*alpha), be = T(*beta);
  parallelFor(M, K * N, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t n = 0; n < N; ++n) {
        T acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += A[*ta ? k * M + m : m * K + k] * B[*tb ? n * K + k : k * N + n];
        T v = al * acc + (hasC ? be * C[cIdx[m * N + n]] : T(0));
        storeF(a.dtype, c.out[0].data, size_t(m * N + n), v);
      }
  });
  return Status::OK();
}

Status gemm(const KernelContext &c) {
  if (c.in[0].dtype != c.in[1].dtype)
    return c.error("operand dtypes differ");
  if (!matmulDType(c.in[0].dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(c.in[0].dtype));
  bool wide = c.in[0].dtype == DType::FLOAT64 || isIntDType(c.in[0].dtype);
  return wide ? gemmT<double>(c) : gemmT<float>(c);
}

} // namespace

void registerLinalg(Registry &r) {
  r[EffOp::MatMulOp] = {matmul, 2, 2, 1, 1};
  r[EffOp::GemmOp] = {gemm, 2, 3, 1, 1};
}

} // namespace effc::host
