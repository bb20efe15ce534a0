//===- ExpertAllToAll.cpp - MoE layers as token exchanges (--devices) -----===//
//
// effc --devices=N --expert-parallel=all-to-all (issue 20). A layer
//
//   experts, weights = eff.moe_route(x, router)          x: [T, H], static
//   y = group_0(x, experts, weights) + ... + group_{G-1}(...)
//
// becomes, with device d owning token rows [d T / N, (d + 1) T / N):
//
//   x_d            = rows of x                            (device d)
//   e_d, w_d       = eff.moe_route(x_d, router)           (device d)
//   xr_*, er_*, wr_* = eff.expert_dispatch(x_*, e_*, w_*)    (all-to-all)
//   y_j            = sum of device j's groups on (xr_j, er_j, wr_j)
//   o_*            = eff.expert_combine(y_*, e_*)            (all-to-all back)
//   y              = eff.all_gather(o_*, axis 0)
//
// Each device routes T / N tokens instead of T and its experts see only the
// tokens routed to them (padding rows carry expert -1 and cost no GEMM
// work); the groups apply the routing weights, so the combine is a sum. The
// receive buffers are sized for the worst case (C = T rows, every token at
// most once a device) because shapes are static; the runtime moves exact
// counts (Collectives::allToAllv), computed from the routing before the
// exchange. The token shards are all-gathered: the ops after the layer stay
// replicated (keeping them sharded is not planned).
//
#include "passes/ExpertAllToAll.h"

namespace mlir::eff {

namespace {

constexpr llvm::StringLiteral kDevice = "eff.device";

Operation *onDevice(Operation *op, int64_t d) {
  op->setAttr(kDevice, IntegerAttr::get(IntegerType::get(op->getContext(), 64), d));
  return op;
}

std::string str(int64_t v) { return std::to_string(v); }

} // namespace

std::string planExpertAllToAll(MoERouteOp route, ArrayRef<MoEExpertsOp> groups,
                               ArrayRef<AddOp> chain, int64_t devices, std::string &plan) {
  const int64_t g = int64_t(groups.size());
  auto xType = dyn_cast<RankedTensorType>(route.getX().getType());
  if (!xType || xType.getRank() != 2 || !xType.hasStaticShape())
    return "the tokens are not a static [T, H] tensor (compile with fixed dims)";
  const int64_t tokens = xType.getShape()[0];
  if (tokens < devices)
    return str(tokens) + " tokens, fewer than the " + str(devices) + " devices";
  if (g < devices)
    return str(g) + " expert groups, fewer than the " + str(devices) + " devices";
  if (int64_t(chain.size()) != g - 1)
    return "the expert groups are not summed by one add chain";
  for (Value v : route->getResults())
    for (Operation *user : v.getUsers())
      if (!llvm::is_contained(groups, user))
        return "the routing is read by an op other than the expert groups (" +
               user->getName().getStringRef().str() + ")";
  // Device j's experts: its groups' ranges, contiguous in expert order.
  SmallVector<int64_t> splits{0};
  int64_t next = 0;
  for (int64_t p = 0; p < g; ++p) {
    MoEExpertsOp group = groups[p];
    if (group.getSharedGateUp())
      return "a group holds the shared expert, which runs on every token (not exchanged yet)";
    if (group.getX() != route.getX())
      return "an expert group reads other tokens than the routing";
    if (group.getType() != xType)
      return "an expert group's output type differs from its tokens'";
    if (int64_t(group.getFirstExpert()) != next)
      return "the expert groups are not contiguous in expert order";
    next += cast<RankedTensorType>(group.getGateUp().getType()).getShape()[0];
    const int64_t device = p * devices / g;
    if (int64_t(splits.size()) == device + 1)
      splits.push_back(next);
    splits[size_t(device + 1)] = next;
  }

  AddOp last = chain.back();
  OpBuilder b(last);
  Location loc = route.getLoc();
  // Token shards and their routing.
  SmallVector<Value> xs, es, ws;
  SmallVector<int64_t> on;
  for (int64_t d = 0; d < devices; ++d) {
    const int64_t lo = d * tokens / devices, hi = (d + 1) * tokens / devices;
    SmallVector<int64_t> rows;
    for (int64_t t = lo; t < hi; ++t)
      rows.push_back(t);
    auto idxType = RankedTensorType::get({hi - lo}, b.getI64Type());
    Value idx = b.create<ConstantOp>(loc, idxType, DenseIntElementsAttr::get(idxType, rows));
    Operation *shard = onDevice(
        b.create<GatherOp>(loc, ValueRange{route.getX(), idx}, ArrayRef<NamedAttribute>{}), d);
    SmallVector<Value> operands{shard->getResult(0), route.getRouter()};
    if (route.getRouteWeights())
      operands.push_back(route.getRouteWeights());
    Operation *r = onDevice(b.create<MoERouteOp>(loc, operands, route->getAttrs()), d);
    xs.push_back(shard->getResult(0));
    es.push_back(r->getResult(0));
    ws.push_back(r->getResult(1));
    on.push_back(d);
    plan += (d ? "; " : "") + std::string("device ") + str(d) + ": tokens " + str(lo) + ".." +
            str(hi - 1) + ", experts " + str(splits[size_t(d)]) + ".." +
            str(splits[size_t(d + 1)] - 1);
  }
  SmallVector<Value> inputs(xs);
  inputs.append(es);
  inputs.append(ws);
  auto devicesAttr = b.getNamedAttr("devices", b.getDenseI64ArrayAttr(on));
  auto splitsAttr = b.getNamedAttr("expert_splits", b.getDenseI64ArrayAttr(splits));
  auto dispatch =
      b.create<ExpertDispatchOp>(loc, inputs, ArrayRef<NamedAttribute>{devicesAttr, splitsAttr});
  // Each device's groups on what it received, summed there.
  SmallVector<Value> ys(static_cast<size_t>(devices), Value());
  for (int64_t p = 0; p < g; ++p) {
    MoEExpertsOp group = groups[p];
    const int64_t d = p * devices / g;
    SmallVector<Value> operands(group->getOperands());
    operands[0] = dispatch.getResult(size_t(d));
    operands[1] = dispatch.getResult(size_t(devices + d));
    operands[2] = dispatch.getResult(size_t(2 * devices + d));
    OperationState state(group.getLoc(), group->getName());
    state.addOperands(operands);
    state.addAttributes(group->getAttrs());
    state.addTypes(dispatch.getResult(size_t(d)).getType());
    Value y = onDevice(b.create(state), d)->getResult(0);
    ys[size_t(d)] = ys[size_t(d)] ? onDevice(b.create<AddOp>(loc, ValueRange{ys[size_t(d)], y},
                                                             ArrayRef<NamedAttribute>{}),
                                             d)
                                        ->getResult(0)
                                  : y;
  }
  SmallVector<Value> back(ys);
  back.append(es);
  auto combine =
      b.create<ExpertCombineOp>(loc, back, ArrayRef<NamedAttribute>{devicesAttr, splitsAttr});
  auto gather = b.create<AllGatherOp>(
      loc, ValueRange{combine->getResults()},
      ArrayRef<NamedAttribute>{b.getNamedAttr("axis", b.getI64IntegerAttr(0)), devicesAttr});
  last.getResult().replaceAllUsesWith(gather.getResult());
  for (AddOp add : llvm::reverse(chain))
    add->erase();
  for (MoEExpertsOp group : llvm::reverse(groups))
    group->erase();
  route->erase();
  return "";
}

} // namespace mlir::eff
