// The op registry: name -> kernel + arity. Built on first use (explicit
// registration calls, since static-initializer registration is dropped by the
// linker in static libraries).
#include "host/KernelUtil.h"

namespace effc::host {

std::vector<std::string> kernelOpNames() {
  return {
#define EFF_KERNEL_OP(CLASS, NAME) NAME,
#define EFF_COLLECTIVE_OP(CLASS, NAME) NAME,
#include "EffOpList.inc"
  };
}

static const Registry &registry() {
  static const Registry r = [] {
    Registry reg;
    registerElementwise(reg);
    registerBinary(reg);
    registerReductions(reg);
    registerShapeOps(reg);
    registerGather(reg);
    registerLinalg(reg);
    registerLoRA(reg);
    registerQuantLinear(reg);
    registerMoE(reg);
    registerMoEStages(reg);
    registerMoEExchange(reg);
    registerNormalization(reg);
    registerAttention(reg);
    registerSplitKvAttention(reg);
    registerKvCache(reg);
    registerMisc(reg);
    registerCollectives(reg);
    registerRingAttention(reg);
    return reg;
  }();
  return r;
}

bool hasKernel(std::string_view op) { return registry().byName.count(op) != 0; }

std::vector<std::string> kernelNames() {
  std::vector<std::string> names;
  for (auto &kv : registry().byName)
    names.push_back(kv.first);
  return names;
}

static Status checkArity(const KernelContext &c, const KernelDef &d) {
  int ni = int(c.in.size()), no = int(c.out.size());
  if (ni < d.minIn || (d.maxIn >= 0 && ni > d.maxIn))
    return c.error("expected " + std::to_string(d.minIn) +
                   (d.maxIn == d.minIn ? ""
                    : d.maxIn < 0      ? "+"
                                       : "-" + std::to_string(d.maxIn)) +
                   " inputs, got " + std::to_string(ni));
  if (no < d.minOut || (d.maxOut >= 0 && no > d.maxOut))
    return c.error("expected " + std::to_string(d.minOut) +
                   (d.maxOut == d.minOut ? ""
                    : d.maxOut < 0       ? "+"
                                         : "-" + std::to_string(d.maxOut)) +
                   " outputs, got " + std::to_string(no));
  // Required inputs are the first minIn; they must be present and well-formed.
  for (int i = 0; i < ni; ++i) {
    const ConstTensorRef &t = c.in[i];
    if (!t.data) {
      if (i < d.minIn && numElements(t.shape) != 0)
        return c.error("required input " + std::to_string(i) + " is missing");
      continue;
    }
    if (dtypeSize(t.dtype) == 0)
      return c.error("input " + std::to_string(i) + " has invalid dtype");
    if (numElements(t.shape) < 0)
      return c.error("input " + std::to_string(i) + " has invalid shape " + shapeToString(t.shape));
  }
  for (int i = 0; i < no; ++i)
    if (dtypeSize(c.out[i].dtype) == 0 || numElements(c.out[i].shape) < 0)
      return c.error("output " + std::to_string(i) + " has invalid dtype or shape");
  return Status::OK();
}

Status runKernel(std::string_view op, const Attrs &attrs, const std::vector<ConstTensorRef> &inputs,
                 const std::vector<TensorRef> &outputs) {
  auto it = registry().byName.find(op);
  if (it == registry().byName.end())
    return Status::error("no host kernel for op '" + std::string(op) + "'");
  KernelContext c{std::string(op), attrs, inputs, outputs};
  EFFC_RETURN_IF_ERROR(checkArity(c, it->second));
  return it->second.fn(c);
}

} // namespace effc::host
