// Multidirectional-broadcast ops: arithmetic, comparisons, logic, max/min
// (variadic) and where.
#include "host/KernelUtil.h"

#include <cmath>

namespace effc::host {
namespace {

enum class Kind { Arith, Compare, Logic };

struct Add {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return a + b; }
  static int64_t i(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
};
struct Sub {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return a - b; }
  static int64_t i(int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }
};
struct Mul {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return a * b; }
  static int64_t i(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }
};
struct Div {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return a / b; }
  // Truncates toward zero (C++/ONNX); x/0 gives 0 instead of a SIGFPE.
  static int64_t i(int64_t a, int64_t b) {
    if (b == 0)
      return 0;
    if (b == -1)
      return int64_t(0ull - uint64_t(a));
    return a / b;
  }
};
struct Max {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return std::isnan(a) || a > b ? a : b; }
  static int64_t i(int64_t a, int64_t b) { return a > b ? a : b; }
};
struct Min {
  static constexpr Kind kKind = Kind::Arith;
  template <typename T> static T f(T a, T b) { return std::isnan(a) || a < b ? a : b; }
  static int64_t i(int64_t a, int64_t b) { return a < b ? a : b; }
};
#define EFFC_CMP(Name, expr)                                                                       \
  struct Name {                                                                                    \
    static constexpr Kind kKind = Kind::Compare;                                                   \
    template <typename T> static bool f(T a, T b) { return expr; }                                 \
  };
EFFC_CMP(Equal, a == b)
EFFC_CMP(Greater, a > b)
EFFC_CMP(GreaterEq, a >= b)
EFFC_CMP(Less, a < b)
EFFC_CMP(LessEq, a <= b)
#undef EFFC_CMP
#define EFFC_LOGIC(Name, expr)                                                                     \
  struct Name {                                                                                    \
    static constexpr Kind kKind = Kind::Logic;                                                     \
    static bool f(bool a, bool b) { return expr; }                                                 \
  };
EFFC_LOGIC(And, a &&b)
EFFC_LOGIC(Or, a || b)
EFFC_LOGIC(Xor, a != b)
#undef EFFC_LOGIC

std::vector<std::vector<int64_t>> shapesOf(const KernelContext &c) {
  std::vector<std::vector<int64_t>> s;
  for (auto &t : c.in)
    s.push_back(t.shape);
  return s;
}

// Arithmetic ops fold left over all inputs (max/min are variadic).
template <typename Op> Status arith(const KernelContext &c) {
  DType t = c.in[0].dtype;
  for (size_t k = 1; k < c.in.size(); ++k)
    if (c.in[k].dtype != t)
      return c.error(std::string("input dtypes differ: ") + dtypeName(t) + " vs " +
                     dtypeName(c.in[k].dtype));
  if (!isFloatDType(t) && !isIntDType(t))
    return c.error(std::string("unsupported dtype ") + dtypeName(t));
  auto shape = broadcastShapes(c, shapesOf(c));
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, *shape));
  void *y = c.out[0].data;
  size_t k = c.in.size();
  forEachBroadcast(*shape, shapesOf(c), [&](size_t o, const size_t *idx) {
    if (isIntDType(t)) {
      int64_t acc = loadI(t, c.in[0].data, idx[0]);
      for (size_t j = 1; j < k; ++j)
        acc = Op::i(acc, loadI(t, c.in[j].data, idx[j]));
      storeI(t, y, o, acc);
    } else if (t == DType::FLOAT64) {
      double acc = loadF(t, c.in[0].data, idx[0]);
      for (size_t j = 1; j < k; ++j)
        acc = Op::f(acc, loadF(t, c.in[j].data, idx[j]));
      storeF(t, y, o, acc);
    } else {
      float acc = float(loadF(t, c.in[0].data, idx[0]));
      for (size_t j = 1; j < k; ++j)
        acc = Op::f(acc, float(loadF(t, c.in[j].data, idx[j])));
      storeF(t, y, o, acc);
    }
  });
  return Status::OK();
}

// Pow: base and exponent may have different dtypes; result has the base's.
Status pow(const KernelContext &c) {
  DType t = c.in[0].dtype, te = c.in[1].dtype;
  if ((!isFloatDType(t) && !isIntDType(t)) || (!isFloatDType(te) && !isIntDType(te)))
    return c.error("unsupported dtypes");
  auto shape = broadcastShapes(c, shapesOf(c));
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, *shape));
  forEachBroadcast(*shape, shapesOf(c), [&](size_t o, const size_t *idx) {
    double a = loadF(t, c.in[0].data, idx[0]), b = loadF(te, c.in[1].data, idx[1]);
    double r = t == DType::FLOAT64 || isIntDType(t) ? std::pow(a, b)
                                                    : double(std::pow(float(a), float(b)));
    storeF(t, c.out[0].data, o, r);
  });
  return Status::OK();
}

template <typename Op> Status compare(const KernelContext &c) {
  DType t = c.in[0].dtype;
  if (c.in[1].dtype != t)
    return c.error(std::string("input dtypes differ: ") + dtypeName(t) + " vs " +
                   dtypeName(c.in[1].dtype));
  auto shape = broadcastShapes(c, shapesOf(c));
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::BOOL, *shape));
  bool asFloat = isFloatDType(t);
  forEachBroadcast(*shape, shapesOf(c), [&](size_t o, const size_t *idx) {
    bool r = asFloat ? Op::f(loadF(t, c.in[0].data, idx[0]), loadF(t, c.in[1].data, idx[1]))
                     : Op::f(loadI(t, c.in[0].data, idx[0]), loadI(t, c.in[1].data, idx[1]));
    wr<uint8_t>(c.out[0].data, o, r);
  });
  return Status::OK();
}

template <typename Op> Status logic(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(c.checkInDType(0, DType::BOOL));
  EFFC_RETURN_IF_ERROR(c.checkInDType(1, DType::BOOL));
  auto shape = broadcastShapes(c, shapesOf(c));
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::BOOL, *shape));
  forEachBroadcast(*shape, shapesOf(c), [&](size_t o, const size_t *idx) {
    wr<uint8_t>(
        c.out[0].data, o,
        Op::f(rd<uint8_t>(c.in[0].data, idx[0]) != 0, rd<uint8_t>(c.in[1].data, idx[1]) != 0));
  });
  return Status::OK();
}

Status where(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(c.checkInDType(0, DType::BOOL));
  DType t = c.in[1].dtype;
  if (c.in[2].dtype != t)
    return c.error("X and Y dtypes differ");
  auto shape = broadcastShapes(c, shapesOf(c));
  if (!shape.ok())
    return shape.status();
  EFFC_RETURN_IF_ERROR(c.checkOut(0, t, *shape));
  size_t es = dtypeSize(t);
  char *y = static_cast<char *>(c.out[0].data);
  forEachBroadcast(*shape, shapesOf(c), [&](size_t o, const size_t *idx) {
    bool cond = rd<uint8_t>(c.in[0].data, idx[0]) != 0;
    const char *src = static_cast<const char *>(c.in[cond ? 1 : 2].data) + idx[cond ? 1 : 2] * es;
    std::memcpy(y + o * es, src, es);
  });
  return Status::OK();
}

} // namespace

void registerBinary(Registry &r) {
  r[EffOp::AddOp] = {arith<Add>, 2, 2, 1, 1};
  r[EffOp::SubOp] = {arith<Sub>, 2, 2, 1, 1};
  r[EffOp::MulOp] = {arith<Mul>, 2, 2, 1, 1};
  r[EffOp::DivOp] = {arith<Div>, 2, 2, 1, 1};
  r[EffOp::MaxOp] = {arith<Max>, 1, -1, 1, 1};
  r[EffOp::MinOp] = {arith<Min>, 1, -1, 1, 1};
  r[EffOp::PowOp] = {pow, 2, 2, 1, 1};
  r[EffOp::EqualOp] = {compare<Equal>, 2, 2, 1, 1};
  r[EffOp::GreaterOp] = {compare<Greater>, 2, 2, 1, 1};
  r[EffOp::GreaterOrEqualOp] = {compare<GreaterEq>, 2, 2, 1, 1};
  r[EffOp::LessOp] = {compare<Less>, 2, 2, 1, 1};
  r[EffOp::LessOrEqualOp] = {compare<LessEq>, 2, 2, 1, 1};
  r[EffOp::AndOp] = {logic<And>, 2, 2, 1, 1};
  r[EffOp::OrOp] = {logic<Or>, 2, 2, 1, 1};
  r[EffOp::XorOp] = {logic<Xor>, 2, 2, 1, 1};
  r[EffOp::WhereOp] = {where, 3, 3, 1, 1};
}

} // namespace effc::host
