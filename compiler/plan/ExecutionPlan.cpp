//===- ExecutionPlan.cpp - eff IR -> artifact manifest --------------------===//
#include "compiler/plan/ExecutionPlan.h"

#include "compiler/codegen/KernelEmitter.h"
#include "compiler/plan/MemoryPlanner.h"
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/KernelOperands.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"

#include "llvm/ADT/DenseMap.h"

#include <limits>
#include <map>

using namespace mlir;

namespace effc {

bool isViewOp(Operation *op) {
  return isa<eff::ReshapeOp, eff::SqueezeOp, eff::UnsqueezeOp, eff::FlattenOp,
             eff::IdentityOp>(op);
}

namespace {

std::string locationText(Location loc) {
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

artifact::Attr toManifestAttr(const host::AttrValue &value) {
  artifact::Attr attr;
  if (auto *i = std::get_if<int64_t>(&value))
    attr.set_i(*i);
  else if (auto *f = std::get_if<double>(&value))
    attr.set_f(*f);
  else if (auto *s = std::get_if<std::string>(&value))
    attr.set_s(*s);
  else if (auto *ints = std::get_if<std::vector<int64_t>>(&value))
    for (int64_t v : *ints)
      attr.mutable_ints()->add_values(v);
  else if (auto *floats = std::get_if<std::vector<double>>(&value))
    for (double v : *floats)
      attr.mutable_floats()->add_values(v);
  return attr;
}

/// An op's attributes as the kernels read them (same names and kinds as the
/// host kernels' Attrs), for a Kernel or a fused BodyOp.
void copyAttrs(Operation *op, google::protobuf::Map<std::string, artifact::Attr> &out) {
  for (auto &[key, value] : eff::toHostAttrs(op))
    out[key] = toManifestAttr(value);
}

class PlanBuilder {
public:
  FailureOr<ExecutionPlan> build(func::FuncOp func) {
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "eff.name");
      std::string inputName = name ? name.str() : "input_" + std::to_string(i);
      FailureOr<int32_t> id = addBuffer(arg, inputName, func.getLoc(), "input '" + inputName + "'");
      if (failed(id))
        return failure();
      ranges[*id].first = -1; // written by the caller before the first kernel
      auto *binding = plan.manifest.add_inputs();
      binding->set_name(inputName);
      binding->set_buffer(uint32_t(*id));
    }
    for (Operation &op : func.getBody().front())
      if (failed(lower(&op, func)))
        return failure();
    assignArena();
    if (!cuda.empty())
      plan.cudaSource = cuda.source();
    return std::move(plan);
  }

private:
  ExecutionPlan plan;
  codegen::CudaTranslationUnit cuda;
  llvm::DenseMap<Value, int32_t> bufferOf;
  // Per buffer: its arena live range, and the buffer whose bytes it uses.
  std::map<int32_t, LiveRange> ranges;
  llvm::DenseMap<int32_t, int32_t> rootOf;
  int64_t step = 0;

  FailureOr<int32_t> addBuffer(Value value, const std::string &name, Location loc,
                               const std::string &what,
                               artifact::Buffer::Storage storage = artifact::Buffer::ARENA) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.hasStaticShape())
      return emitError(loc) << what << " has a dynamic shape " << value.getType()
                            << "; bind the model's input dims with --shape NAME=DxD...";
    DType dtype = eff::toDType(type.getElementType());
    if (dtype == DType::UNDEFINED)
      return emitError(loc) << what << " has unsupported element type " << type.getElementType();
    int32_t id = plan.manifest.buffers_size();
    artifact::Buffer *buffer = plan.manifest.add_buffers();
    buffer->set_name(name);
    buffer->set_dtype(artifact::DType(int(dtype)));
    for (int64_t d : type.getShape())
      buffer->add_shape(d);
    buffer->set_storage(storage);
    buffer->set_size_bytes(uint64_t(type.getNumElements()) * dtypeSize(dtype));
    bufferOf[value] = id;
    rootOf[id] = id;
    if (storage == artifact::Buffer::ARENA)
      ranges[id] = LiveRange{buffer->size_bytes(), step, step};
    return id;
  }

  /// Extends the live range of the arena buffer behind `id` to `at`.
  void use(int32_t id, int64_t at) {
    auto it = ranges.find(rootOf[id]);
    if (it != ranges.end())
      it->second.last = std::max(it->second.last, at);
  }

  LogicalResult lower(Operation *op, func::FuncOp func) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        auto name = func.getResultAttrOfType<StringAttr>(i, "eff.name");
        auto *binding = plan.manifest.add_outputs();
        binding->set_name(name ? name.str() : "output_" + std::to_string(i));
        binding->set_buffer(uint32_t(bufferOf.lookup(value)));
        use(bufferOf.lookup(value), std::numeric_limits<int64_t>::max() / 2);
      }
      return success();
    }
    if (auto constant = dyn_cast<eff::ConstantOp>(op)) {
      FailureOr<int32_t> id = addBuffer(constant, "weight", op->getLoc(), "constant",
                                        artifact::Buffer::WEIGHT);
      if (failed(id))
        return failure();
      std::vector<char> bytes;
      if (!eff::getElementsBytes(constant.getValue(), bytes))
        return op->emitError("constant data is not available (elided resource?)");
      plan.weights.push_back(WeightBlob{uint32_t(*id), std::string(bytes.begin(), bytes.end())});
      return success();
    }
    if (op->getDialect() == nullptr || op->getDialect()->getNamespace() != "eff")
      return op->emitError("cannot plan op '") << op->getName() << "': not an eff op";

    if (isViewOp(op)) {
      int32_t source = bufferOf.lookup(op->getOperand(0));
      FailureOr<int32_t> id = addBuffer(op->getResult(0), "view", op->getLoc(),
                                        "result of " + op->getName().getStringRef().str(),
                                        artifact::Buffer::ALIAS);
      if (failed(id))
        return failure();
      artifact::Buffer *buffer = plan.manifest.mutable_buffers(*id);
      buffer->set_alias_of(uint32_t(source));
      buffer->set_offset(0);
      rootOf[*id] = rootOf[source];
      return success();
    }

    if (auto fusion = dyn_cast<eff::FusionOp>(op))
      return lowerFusion(fusion);

    std::string name = op->getName().getStringRef().str();
    if (!host::hasKernel(name))
      return op->emitError("no kernel implements '") << name << "'";
    ++step;
    artifact::Kernel *kernel = plan.manifest.add_kernels();
    kernel->set_op(name);
    kernel->set_location(locationText(op->getLoc()));
    copyAttrs(op, *kernel->mutable_attrs());
    for (Value operand : eff::getKernelOperands(op)) {
      if (!operand) {
        kernel->add_inputs(-1);
        continue;
      }
      int32_t id = bufferOf.lookup(operand);
      kernel->add_inputs(id);
      use(id, step);
    }
    for (Value result : op->getResults()) {
      FailureOr<int32_t> id = addBuffer(result, name + " result", op->getLoc(),
                                        "result of " + name);
      if (failed(id))
        return failure();
      kernel->add_outputs(*id);
    }
    emitCuda(op, kernel);
    return success();
  }

  /// An eff.fusion becomes one kernel whose body lists the fused ops over
  /// value indices: 0..n-1 are the kernel inputs, then each body result.
  LogicalResult lowerFusion(eff::FusionOp fusion) {
    ++step;
    artifact::Kernel *kernel = plan.manifest.add_kernels();
    kernel->set_op("eff.fusion");
    kernel->set_location(locationText(fusion.getLoc()));
    (*kernel->mutable_attrs())["kind"].set_s(eff::stringifyFusionKind(fusion.getKind()).str());
    for (Value input : fusion.getInputs()) {
      int32_t id = bufferOf.lookup(input);
      kernel->add_inputs(id);
      use(id, step);
    }
    Block &body = fusion.getBody().front();
    llvm::DenseMap<Value, int32_t> valueIndex;
    for (BlockArgument arg : body.getArguments())
      valueIndex[arg] = int32_t(arg.getArgNumber());
    int32_t next = int32_t(body.getNumArguments());
    for (Operation &inner : body.without_terminator()) {
      std::string name = inner.getName().getStringRef().str();
      if (!host::hasKernel(name))
        return inner.emitError("no kernel implements '") << name << "'";
      artifact::BodyOp *bodyOp = kernel->add_body();
      bodyOp->set_op(name);
      bodyOp->set_location(locationText(inner.getLoc()));
      copyAttrs(&inner, *bodyOp->mutable_attrs());
      for (Value operand : eff::getKernelOperands(&inner))
        bodyOp->add_operands(operand ? valueIndex.lookup(operand) : -1);
      for (Value result : inner.getResults()) {
        auto type = cast<RankedTensorType>(result.getType());
        bodyOp->add_result_dtypes(artifact::DType(int(eff::toDType(type.getElementType()))));
        artifact::Ints *shape = bodyOp->add_result_shapes();
        for (int64_t d : type.getShape())
          shape->add_values(d);
        valueIndex[result] = next++;
      }
    }
    for (Value yielded : body.getTerminator()->getOperands())
      kernel->add_body_outputs(valueIndex.lookup(yielded));
    for (Value result : fusion.getResults()) {
      FailureOr<int32_t> id = addBuffer(result, "eff.fusion result", fusion.getLoc(),
                                        "result of eff.fusion");
      if (failed(id))
        return failure();
      kernel->add_outputs(*id);
    }
    emitCuda(fusion, kernel);
    return success();
  }

  // --- CUDA codegen hook (compiler/codegen) ---------------------------------
  // Fills Kernel.source/launch and adds the kernel to the translation unit.
  // A kernel without CUDA code is a warning, not an error: the host backend
  // still runs the artifact; the cuda backend reports the missing source.
  void emitCuda(Operation *op, artifact::Kernel *kernel) {
    std::string error;
    std::string name = codegen::kernelName(size_t(plan.manifest.kernels_size() - 1), kernel->op());
    std::optional<codegen::KernelDesc> desc = codegen::describeKernelOp(op, name, error);
    std::optional<codegen::CudaKernel> cudaKernel;
    if (desc)
      cudaKernel = codegen::emitCudaKernel(*desc, error);
    if (!cudaKernel) {
      op->emitWarning("no CUDA kernel: ") << error;
      return;
    }
    kernel->set_source(cuda.add(*cudaKernel));
    artifact::Launch *launch = kernel->mutable_launch();
    for (int i = 0; i < 3; ++i) {
      launch->add_grid(cudaKernel->launch.grid[i]);
      launch->add_block(cudaKernel->launch.block[i]);
    }
    launch->set_shared_bytes(cudaKernel->launch.sharedBytes);
  }
  // ---------------------------------------------------------------------------

  void assignArena() {
    std::vector<int32_t> ids;
    std::vector<LiveRange> live;
    uint64_t intermediate = 0;
    for (auto &[id, range] : ranges) {
      ids.push_back(id);
      live.push_back(range);
      intermediate += range.size;
    }
    ArenaPlan arena = planArena(live);
    for (size_t i = 0; i < ids.size(); ++i)
      plan.manifest.mutable_buffers(ids[i])->set_offset(arena.offsets[i]);
    plan.manifest.set_arena_bytes(arena.arenaBytes);
    plan.manifest.set_intermediate_bytes(intermediate);
  }
};

} // namespace

FailureOr<ExecutionPlan> buildExecutionPlan(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    for (auto f : module.getOps<func::FuncOp>()) {
      func = f;
      break;
    }
  }
  if (!func)
    return module.emitError("no function to plan");
  return PlanBuilder().build(func);
}

} // namespace effc
