//===- PartitionDevices.cpp - place work on N devices (--devices) ---------===//
//
// --devices=N (issue 20) plans which device runs what; ops it leaves alone
// are replicated (every device runs them on its own copy). It writes:
//
//   MoE (expert parallelism): the eff.moe_experts groups of one eff.moe_route
//   (eff-partition-moe, which effc runs with at least N groups) go to devices
//   in contiguous runs, `eff.device` = p * N / groups; the eff.add chain that
//   summed the groups becomes a sum per device (eff.add on that device) and
//   one eff.all_reduce of those partials. With expert-parallel=all-to-all
//   (ExpertAllToAll.cpp) the tokens are sharded over the devices instead and
//   exchanged with the experts' devices (eff.expert_dispatch / eff.expert_combine).
//
//   Linears (tensor parallelism, column-parallel): y = eff.matmul(x, W) with
//   W a constant [K, C], C divisible by N and C / N >= min-columns, becomes
//   N matmuls over column blocks of W (W's slices fold into constants),
//   block d on `eff.device` = d, joined by an eff.all_gather over the last
//   axis. Each output element is the same dot product as before, so fp32
//   results are unchanged bit for bit.
//
//   Row-parallel (Megatron's pair): a matmul with a constant [K, C] weight
//   whose input is made of the column blocks above, through elementwise ops
//   (a gated MLP's act(gate) * up), becomes per device d: the elementwise
//   ops on block d, times rows d of the weight; an eff.all_reduce sums the
//   partials (fp32 order differs: within rounding).
//
//   Ring attention (attention=ring, RingAttentionPlan.cpp): eff.attention
//   over the whole sequence becomes eff.ring_attention over the devices'
//   token blocks.
//
// Not planned yet (remarks say so): eff.gemm and quantized linears. The
// collectives are ops (CollectiveOps.td, with verifiers; operand i on device
// devices[i]); placement reaches the manifest as
// Kernel.device and Manifest.devices (func attribute `eff.devices`);
// effc-run --devices=N runs it on the host backend (simulated devices) and
// on the cuda backend (a stream per device).
//
#include "dialects/eff/EffOps.h"
#include "passes/ExpertAllToAll.h"
#include "passes/Passes.h"
#include "passes/RingAttentionPlan.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"

namespace mlir::eff {
#define GEN_PASS_DEF_PARTITIONDEVICES
#include "passes/Passes.h.inc"
} // namespace mlir::eff

using namespace mlir;
using namespace mlir::eff;

namespace {

constexpr llvm::StringLiteral kDevice = "eff.device";

struct PartitionDevicesPass : public mlir::eff::impl::PartitionDevicesBase<PartitionDevicesPass> {
  using PartitionDevicesBase::PartitionDevicesBase;

  /// blockOf's results: (value, device) -> the block on that device.
  llvm::DenseMap<std::pair<void *, int64_t>, Value> blocks;

  /// The add chain over the groups' outputs: in program order, an add of
  /// two groups or of an earlier add of the chain and a group.
  static SmallVector<AddOp> sumChain(ArrayRef<MoEExpertsOp> groups) {
    llvm::SmallPtrSet<Operation *, 8> partial;
    for (MoEExpertsOp group : groups)
      partial.insert(group);
    SmallVector<AddOp> chain;
    for (Operation *op = groups.front()->getNextNode(); op; op = op->getNextNode()) {
      auto add = dyn_cast<AddOp>(op);
      if (!add)
        continue;
      bool inChain = true; // both operands groups or chain adds (not a residual add)
      for (Value v : add->getOperands())
        inChain &= v.getDefiningOp() && partial.contains(v.getDefiningOp());
      if (!inChain)
        continue;
      chain.push_back(add);
      partial.insert(add);
    }
    return chain;
  }

  void placeExperts(MoERouteOp route, ArrayRef<MoEExpertsOp> groups) {
    OpBuilder b(route);
    const int64_t g = int64_t(groups.size());
    std::string plan;
    SmallVector<AddOp> chain = sumChain(groups);
    std::string whyNotAllToAll;
    if (expertParallel == "all-to-all") { // passes/ExpertAllToAll.cpp
      Location loc = route.getLoc();
      whyNotAllToAll = planExpertAllToAll(route, groups, chain, devices, plan);
      if (whyNotAllToAll.empty()) {
        if (remarks)
          emitRemark(loc, "expert parallel (all-to-all) over ")
              << int64_t(devices) << " devices: " << plan
              << "; eff.expert_dispatch sends each token to the devices holding its experts, "
                 "eff.expert_combine returns their weighted outputs and sums them per token, an "
                 "all-gather joins the token shards (the ops after the layer stay replicated)";
        return;
      }
    }
    for (int64_t p = 0; p < g; ++p) {
      MoEExpertsOp group = groups[p];
      const int64_t device = p * devices / g;
      group->setAttr(kDevice, b.getI64IntegerAttr(device));
      const int64_t first = int64_t(group.getFirstExpert());
      const int64_t count = cast<RankedTensorType>(group.getGateUp().getType()).getShape()[0];
      plan += (p ? ", " : "") + std::string("experts ") + std::to_string(first) + ".." +
              std::to_string(first + count - 1) + " on device " + std::to_string(device);
    }
    // Its last add (every group flows into it) becomes a sum per device and
    // one all-reduce of those sums.
    if (!chain.empty()) {
      AddOp last = chain.back();
      OpBuilder at(last);
      llvm::MapVector<int64_t, Value> perDevice; // device -> its groups' sum
      for (int64_t p = 0; p < g; ++p) {
        const int64_t device = p * devices / g;
        Value out = groups[p]->getResult(0);
        auto [it, inserted] = perDevice.insert({device, out});
        if (inserted)
          continue;
        auto add = at.create<AddOp>(last.getLoc(), ValueRange{it->second, out},
                                    ArrayRef<NamedAttribute>{});
        add->setAttr(kDevice, at.getI64IntegerAttr(device));
        it->second = add.getResult();
      }
      SmallVector<Value> partials;
      SmallVector<int64_t> on;
      for (auto &[device, sum] : perDevice) {
        on.push_back(device);
        partials.push_back(sum);
      }
      Value reduced = allReduce(at, last.getLoc(), partials, on);
      last.getResult().replaceAllUsesWith(reduced);
      for (AddOp add : llvm::reverse(chain))
        if (add->use_empty())
          add->erase();
    }
    if (remarks) {
      const int64_t used = std::min<int64_t>(g, devices);
      route->emitRemark("expert parallel over ")
          << used << " of " << int64_t(devices) << " devices: " << plan
          << "; the partial outputs are summed by an all-reduce"
          << (used < devices ? " (fewer expert groups than devices)" : "")
          << (whyNotAllToAll.empty() ? std::string() : "; not all-to-all: " + whyNotAllToAll);
    }
  }

  /// eff.all_reduce of `partials`, partial i on device on[i].
  Value allReduce(OpBuilder &b, Location loc, ValueRange partials, ArrayRef<int64_t> on) {
    return b
        .create<AllReduceOp>(
            loc, partials,
            ArrayRef<NamedAttribute>{b.getNamedAttr("devices", b.getDenseI64ArrayAttr(on))})
        .getResult();
  }

  /// Block d (of `devices` equal blocks along the last axis) of `v`, built
  /// on device d from the all-gathers of column-parallel linears
  /// through elementwise ops (operands broadcast along the last axis are
  /// used whole); null when `v` is not such a value. Memoized per (v, d).
  Value blockOf(Value v, int64_t d, OpBuilder &b, int depth = 0) {
    auto key = std::make_pair(v.getAsOpaquePointer(), d);
    if (auto it = blocks.find(key); it != blocks.end())
      return it->second;
    Value out;
    auto type = dyn_cast<RankedTensorType>(v.getType());
    Operation *def = v.getDefiningOp();
    if (!type || !type.hasStaticShape() || type.getRank() < 1 || !def || depth > 8)
      return out;
    const int64_t last = type.getShape().back();
    if (auto gather = dyn_cast<AllGatherOp>(def)) {
      if (int64_t(gather.getAxis()) == type.getRank() - 1 &&
          int64_t(gather->getNumOperands()) == devices && gather.getDevices()[d] == d)
        out = gather->getOperand(unsigned(d));
    } else if (def->getNumResults() == 1 && def->hasTrait<OpTrait::eff::Elementwise>() &&
               last % devices == 0) {
      SmallVector<Value> operands;
      bool any = false;
      for (Value operand : def->getOperands()) {
        auto ot = dyn_cast<RankedTensorType>(operand.getType());
        if (ot && (ot.getRank() == 0 || ot.getShape().back() == 1)) {
          operands.push_back(operand); // broadcast along the last axis: whole
          continue;
        }
        Value block = blockOf(operand, d, b, depth + 1);
        if (!block)
          return out;
        operands.push_back(block);
        any = true;
      }
      if (any) {
        SmallVector<int64_t> shape(type.getShape());
        shape.back() = last / devices;
        OperationState state(def->getLoc(), def->getName());
        state.addOperands(operands);
        state.addAttributes(def->getAttrs());
        state.addTypes(RankedTensorType::get(shape, type.getElementType()));
        Operation *clone = b.create(state);
        clone->setAttr(kDevice, b.getI64IntegerAttr(d));
        out = clone->getResult(0);
      }
    }
    if (out)
      blocks[key] = out;
    return out;
  }

  /// Row-parallel: y = x W where x's column blocks are on the devices
  /// already (blockOf) becomes the sum of x_d W[rows d] (device d), an
  /// all-reduce; the all-gather of x is then needed only by other users.
  bool rowParallel(MatMulOp mm) {
    Value x = mm->getOperand(0), w = mm->getOperand(1);
    auto wType = dyn_cast<RankedTensorType>(w.getType());
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!w.getDefiningOp<ConstantOp>() || !wType || wType.getRank() != 2 ||
        !wType.hasStaticShape() || !xType || xType.getRank() < 2)
      return false;
    const int64_t k = wType.getShape()[0];
    if (k % devices != 0)
      return false;
    OpBuilder b(mm);
    Location loc = mm.getLoc();
    SmallVector<Value> xs;
    for (int64_t d = 0; d < devices; ++d) {
      Value block = blockOf(x, d, b);
      if (!block)
        return false;
      xs.push_back(block);
    }
    const int64_t rows = k / devices;
    SmallVector<Value> partials;
    SmallVector<int64_t> on;
    for (int64_t d = 0; d < devices; ++d) {
      SmallVector<int64_t> idx;
      for (int64_t r = d * rows; r < (d + 1) * rows; ++r)
        idx.push_back(r);
      auto idxType = RankedTensorType::get({rows}, b.getI64Type());
      Value indices = b.create<ConstantOp>(loc, idxType, DenseIntElementsAttr::get(idxType, idx));
      Value slice =
          b.createOrFold<GatherOp>(loc, ValueRange{w, indices}, ArrayRef<NamedAttribute>{});
      auto part = b.create<MatMulOp>(loc, ValueRange{xs[d], slice}, ArrayRef<NamedAttribute>{});
      part->setAttr(kDevice, b.getI64IntegerAttr(d));
      partials.push_back(part.getResult());
      on.push_back(d);
    }
    Value sum = allReduce(b, loc, partials, on);
    if (remarks)
      mm->emitRemark("row parallel over ")
          << int64_t(devices)
          << " devices: the input's column blocks stay on their devices, the partial products "
             "are summed by an all-reduce";
    mm.getResult().replaceAllUsesWith(sum);
    mm->erase();
    return true;
  }

  /// Why `mm` is not split column-parallel, or "" when it is split.
  std::string columnParallel(MatMulOp mm) {
    Value w = mm->getOperand(1);
    auto wType = dyn_cast<RankedTensorType>(w.getType());
    auto yType = dyn_cast<RankedTensorType>(mm.getType());
    if (!w.getDefiningOp<ConstantOp>())
      return "the weight is not a constant";
    if (!wType || wType.getRank() != 2 || !wType.hasStaticShape())
      return "the weight is not a static 2-D [K, C] tensor";
    if (!yType || yType.getRank() < 2)
      return "the result is not at least 2-D";
    const int64_t c = wType.getShape()[1];
    if (c % devices != 0)
      return std::to_string(c) + " columns do not divide over " + std::to_string(devices) +
             " devices";
    if (c / devices < minColumns)
      return std::to_string(c / devices) + " columns a device, below min-columns " +
             std::to_string(int64_t(minColumns));
    OpBuilder b(mm);
    Location loc = mm.getLoc();
    const int64_t block = c / devices;
    SmallVector<Value> parts;
    SmallVector<int64_t> on;
    for (int64_t d = 0; d < devices; ++d) {
      SmallVector<int64_t> cols;
      for (int64_t j = d * block; j < (d + 1) * block; ++j)
        cols.push_back(j);
      auto idxType = RankedTensorType::get({block}, b.getI64Type());
      Value idx = b.create<ConstantOp>(loc, idxType, DenseIntElementsAttr::get(idxType, cols));
      Value slice = b.createOrFold<GatherOp>(
          loc, ValueRange{w, idx},
          ArrayRef<NamedAttribute>{b.getNamedAttr("axis", b.getI64IntegerAttr(1))});
      auto part =
          b.create<MatMulOp>(loc, ValueRange{mm->getOperand(0), slice}, ArrayRef<NamedAttribute>{});
      part->setAttr(kDevice, b.getI64IntegerAttr(d));
      parts.push_back(part.getResult());
      on.push_back(d);
    }
    auto gather = b.create<AllGatherOp>(
        loc, ValueRange{parts},
        ArrayRef<NamedAttribute>{b.getNamedAttr("axis", b.getI64IntegerAttr(yType.getRank() - 1)),
                                 b.getNamedAttr("devices", b.getDenseI64ArrayAttr(on))});
    mm.getResult().replaceAllUsesWith(gather.getResult());
    mm->erase();
    return "";
  }

  void runOnOperation() override {
    if (devices < 1) {
      getOperation()->emitError("eff-partition-devices: devices must be >= 1, got ")
          << int64_t(devices);
      return signalPassFailure();
    }
    if (minColumns < 1) {
      getOperation()->emitError("eff-partition-devices: min-columns must be >= 1, got ")
          << int64_t(minColumns);
      return signalPassFailure();
    }
    if (expertParallel != "replicate" && expertParallel != "all-to-all") {
      getOperation()->emitError("eff-partition-devices: expert-parallel must be replicate or "
                                "all-to-all, got '")
          << expertParallel << "'";
      return signalPassFailure();
    }
    if (attention != "replicate" && attention != "ring") {
      getOperation()->emitError("eff-partition-devices: attention must be replicate or ring, "
                                "got '")
          << attention << "'";
      return signalPassFailure();
    }
    if (ringLayout != "auto" && ringLayout != "striped" && ringLayout != "contiguous") {
      getOperation()->emitError("eff-partition-devices: ring-layout must be auto, striped or "
                                "contiguous, got '")
          << ringLayout << "'";
      return signalPassFailure();
    }
    if (devices == 1)
      return;
    // The plan's device count (manifest Manifest.devices).
    getOperation()->setAttr(
        "eff.devices", IntegerAttr::get(IntegerType::get(&getContext(), 64), int64_t(devices)));
    llvm::MapVector<Operation *, SmallVector<MoEExpertsOp>> groups;
    SmallVector<MatMulOp> matmuls;
    SmallVector<AttentionOp> attentions;
    getOperation().walk([&](Operation *op) {
      if (auto g = dyn_cast<MoEExpertsOp>(op)) {
        if (auto route = g.getExperts().getDefiningOp<MoERouteOp>())
          groups[route].push_back(g);
      } else if (auto mm = dyn_cast<MatMulOp>(op)) {
        matmuls.push_back(mm);
      } else if (remarks && isa<MoEOp>(op)) {
        op->emitRemark("replicated: eff.moe was not split into expert groups (eff-partition-moe "
                       "runs first with at least as many partitions as devices)");
      } else if (remarks && isa<GemmOp, QuantLinearOp>(op)) {
        op->emitRemark("replicated: only eff.matmul with a constant weight is split "
                       "column-parallel so far");
      } else if (auto a = dyn_cast<AttentionOp>(op)) {
        attentions.push_back(a);
      }
    });
    for (AttentionOp a : attentions) { // passes/RingAttentionPlan.cpp
      Location loc = a.getLoc();
      std::string plan, whyNot = attention == "ring"
                                     ? planRingAttention(a, devices, ringLayout, plan)
                                     : "attention=replicate (--devices-attention=ring cuts it)";
      if (remarks && whyNot.empty())
        emitRemark(loc, "ring attention over ") << int64_t(devices) << " devices: " << plan;
      else if (remarks)
        a->emitRemark("replicated: not ring attention: ") << whyNot;
    }
    for (auto &[route, list] : groups)
      placeExperts(cast<MoERouteOp>(route), list);
    for (MatMulOp mm : matmuls) { // program order: producers' blocks exist first
      Operation *op = mm;
      if (rowParallel(mm))
        continue;
      std::string whyNot = columnParallel(mm);
      if (!remarks)
        continue;
      if (whyNot.empty())
        continue; // erased; the remark is emitted on the all-gather below
      op->emitRemark("replicated: ") << whyNot;
    }
    if (remarks)
      getOperation().walk([&](AllGatherOp gather) {
        if (gather->getOperand(0).getDefiningOp<ExpertCombineOp>())
          return; // the token shards of an all-to-all MoE layer (said there)
        gather->emitRemark("column parallel over ")
            << int64_t(devices) << " devices; the blocks are joined by an all-gather";
      });
  }
};

} // namespace
