// Unary elementwise ops (exp, relu, gelu, ...), cast and clip.
#include "host/KernelUtil.h"

#include <cmath>

namespace effc::host {
namespace {

// Each op: apply<T>() for float math (T = float or double) and, when the op
// is defined on integers, applyInt().
#define EFFC_FLOAT_UNARY(Name, expr)                                                               \
  struct Name {                                                                                    \
    static constexpr bool kInt = false;                                                            \
    template <typename T> static T apply(T x) { return expr; }                                     \
    static int64_t applyInt(int64_t x) { return x; }                                               \
  };
EFFC_FLOAT_UNARY(Cos, std::cos(x))
EFFC_FLOAT_UNARY(Sin, std::sin(x))
EFFC_FLOAT_UNARY(Exp, std::exp(x))
EFFC_FLOAT_UNARY(Log, std::log(x))
EFFC_FLOAT_UNARY(Reciprocal, T(1) / x)
EFFC_FLOAT_UNARY(Sigmoid,
                 x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x)))
EFFC_FLOAT_UNARY(Sqrt, std::sqrt(x))
EFFC_FLOAT_UNARY(Tanh, std::tanh(x))
EFFC_FLOAT_UNARY(Erf, std::erf(x))
#undef EFFC_FLOAT_UNARY

struct Neg {
  static constexpr bool kInt = true;
  template <typename T> static T apply(T x) { return -x; }
  static int64_t applyInt(int64_t x) { return int64_t(0ull - uint64_t(x)); }
};
struct Abs {
  static constexpr bool kInt = true;
  template <typename T> static T apply(T x) { return std::fabs(x); }
  static int64_t applyInt(int64_t x) { return x < 0 ? int64_t(0ull - uint64_t(x)) : x; }
};
struct Relu {
  static constexpr bool kInt = true;
  template <typename T> static T apply(T x) { return x > 0 ? x : T(0); }
  static int64_t applyInt(int64_t x) { return x > 0 ? x : 0; }
};

template <typename Op> Status unary(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  bool isF = isFloatDType(x.dtype), isI = isIntDType(x.dtype);
  if (!isF && !(Op::kInt && isI))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  void *y = c.out[0].data;
  size_t n = count(x.shape);
  for (size_t i = 0; i < n; ++i) {
    if (isI)
      storeI(x.dtype, y, i, Op::applyInt(loadI(x.dtype, x.data, i)));
    else if (x.dtype == DType::FLOAT64)
      storeF(x.dtype, y, i, Op::apply(loadF(x.dtype, x.data, i)));
    else
      storeF(x.dtype, y, i, Op::apply(float(loadF(x.dtype, x.data, i))));
  }
  return Status::OK();
}

Status gelu(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  auto approx = c.stringAttr("approximate", op_defaults::GeluOp_approximate);
  if (!approx.ok())
    return approx.status();
  if (*approx != "none" && *approx != "tanh")
    return c.error("approximate must be 'none' or 'tanh', got '" + *approx + "'");
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  bool tanhForm = *approx == "tanh";
  size_t n = count(x.shape);
  for (size_t i = 0; i < n; ++i) {
    double v = loadF(x.dtype, x.data, i), r;
    if (tanhForm)
      r = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    else
      r = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    storeF(x.dtype, c.out[0].data, i, r);
  }
  return Status::OK();
}

Status logicalNot(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(c.checkInDType(0, DType::BOOL));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::BOOL, c.in[0].shape));
  size_t n = count(c.in[0].shape);
  for (size_t i = 0; i < n; ++i)
    wr<uint8_t>(c.out[0].data, i, !rd<uint8_t>(c.in[0].data, i));
  return Status::OK();
}

Status isNan(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  if (!isFloatDType(x.dtype))
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  EFFC_RETURN_IF_ERROR(c.checkOut(0, DType::BOOL, x.shape));
  size_t n = count(x.shape);
  for (size_t i = 0; i < n; ++i)
    wr<uint8_t>(c.out[0].data, i, std::isnan(loadF(x.dtype, x.data, i)));
  return Status::OK();
}

Status identity(const KernelContext &c) {
  EFFC_RETURN_IF_ERROR(c.checkOut(0, c.in[0].dtype, c.in[0].shape));
  size_t bytes = count(c.in[0].shape) * dtypeSize(c.in[0].dtype);
  if (bytes)
    std::memmove(c.out[0].data, c.in[0].data, bytes);
  return Status::OK();
}

Status cast(const KernelContext &c) {
  auto to = c.intAttr("to", -1);
  if (!to.ok())
    return to.status();
  if (!isValidDType(*to))
    return c.error("attribute 'to' is not a supported dtype: " + std::to_string(*to));
  const ConstTensorRef &x = c.in[0];
  DType dt = DType(*to);
  EFFC_RETURN_IF_ERROR(c.checkOut(0, dt, x.shape));
  size_t n = count(x.shape);
  bool viaInt = isIntDType(x.dtype) || x.dtype == DType::BOOL;
  for (size_t i = 0; i < n; ++i) {
    if (viaInt)
      storeI(dt, c.out[0].data, i, loadI(x.dtype, x.data, i));
    else if (dt == DType::FLOAT16 || dt == DType::BFLOAT16)
      storeF(dt, c.out[0].data, i, float(loadF(x.dtype, x.data, i))); // one rounding via f32
    else
      storeF(dt, c.out[0].data, i, loadF(x.dtype, x.data, i));
  }
  return Status::OK();
}

Status clip(const KernelContext &c) {
  const ConstTensorRef &x = c.in[0];
  for (size_t k = 1; k < 3; ++k) {
    if (!c.has(k))
      continue;
    if (c.in[k].dtype != x.dtype)
      return c.error("min/max dtype must match input");
    if (count(c.in[k].shape) != 1)
      return c.error("min/max must be scalars");
  }
  EFFC_RETURN_IF_ERROR(c.checkOut(0, x.dtype, x.shape));
  size_t n = count(x.shape);
  if (isFloatDType(x.dtype)) {
    double lo = c.has(1) ? loadF(x.dtype, c.in[1].data, 0) : -INFINITY;
    double hi = c.has(2) ? loadF(x.dtype, c.in[2].data, 0) : INFINITY;
    for (size_t i = 0; i < n; ++i) {
      double v = loadF(x.dtype, x.data, i);
      if (v < lo)
        v = lo;
      if (v > hi)
        v = hi; // numpy.clip: max wins when min > max
      storeF(x.dtype, c.out[0].data, i, v);
    }
  } else if (isIntDType(x.dtype)) {
    int64_t lo = c.has(1) ? loadI(x.dtype, c.in[1].data, 0) : INT64_MIN;
    int64_t hi = c.has(2) ? loadI(x.dtype, c.in[2].data, 0) : INT64_MAX;
    for (size_t i = 0; i < n; ++i) {
      int64_t v = loadI(x.dtype, x.data, i);
      if (v < lo)
        v = lo;
      if (v > hi)
        v = hi;
      storeI(x.dtype, c.out[0].data, i, v);
    }
  } else {
    return c.error(std::string("unsupported dtype ") + dtypeName(x.dtype));
  }
  return Status::OK();
}

} // namespace

void registerElementwise(Registry &r) {
  KernelDef one{nullptr, 1, 1, 1, 1};
  auto add = [&](EffOp op, KernelFn fn) {
    KernelDef d = one;
    d.fn = fn;
    r[op] = d;
  };
  add(EffOp::CosOp, unary<Cos>);
  add(EffOp::SinOp, unary<Sin>);
  add(EffOp::ExpOp, unary<Exp>);
  add(EffOp::LogOp, unary<Log>);
  add(EffOp::NegOp, unary<Neg>);
  add(EffOp::ReciprocalOp, unary<Reciprocal>);
  add(EffOp::ReluOp, unary<Relu>);
  add(EffOp::SigmoidOp, unary<Sigmoid>);
  add(EffOp::SqrtOp, unary<Sqrt>);
  add(EffOp::TanhOp, unary<Tanh>);
  add(EffOp::ErfOp, unary<Erf>);
  add(EffOp::AbsOp, unary<Abs>);
  add(EffOp::GeluOp, gelu);
  add(EffOp::NotOp, logicalNot);
  add(EffOp::IsNaNOp, isNan);
  add(EffOp::IdentityOp, identity);
  add(EffOp::CastOp, cast);
  r[EffOp::ClipOp] = KernelDef{clip, 1, 3, 1, 1};
}

} // namespace effc::host
