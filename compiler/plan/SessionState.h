//===- SessionState.h - KV caches the plan keeps in session state -*- C++ -*-===//
//
// Issue 14 S4: an eff.kv_append whose past is a function input read by
// nothing else and whose present is returned as its `state` output becomes
// session state (artifact format version 4, Manifest.states): one buffer of
// [B, H, capacity, D] that the session owns across runs; the past input and
// the present output are views of its first rows (Buffer STATE), neither is
// fed or returned, the append writes only the new rows and attention reads
// keys and values with the capacity as row stride. Only kernels that know
// that stride may touch it: kv_append, the k/v operands of attention and
// attention_partial, and eff.shape. A paged KV pool (issue 19) is kept the
// same way whole: [pages, H, page_size, D] with capacity = page_size, written
// in place by eff.paged_kv_write and read by eff.paged_attention(_partial).
//
#ifndef EFFC_COMPILER_PLAN_SESSIONSTATE_H
#define EFFC_COMPILER_PLAN_SESSIONSTATE_H

#include "compiler/plan/SymbolicShapes.h"
#include "dialects/eff/EffOps.h"

#include <vector>

namespace effc {

struct StateCandidate {
  mlir::eff::KvAppendOp append;   ///< a contiguous cache, or
  mlir::eff::PagedKvWriteOp pool; ///< a paged pool (State.pages)
  unsigned pastArg = 0;           ///< main's argument that is the past
  unsigned presentResult = 0;     ///< main's result that is the present
};

/// The kv_appends of `func` to keep in session state (effc --kv-state): all
/// of them or none (the session holds one row count). With `remarks`, a
/// remark at each kv_append says it was placed, or at the first one that
/// cannot be, why not.
std::vector<StateCandidate> findSessionStates(mlir::func::FuncOp func, const SymbolicShapes &shapes,
                                              bool remarks);

/// Issue 19: the paged KV pools of `func` (effc --paged-kv with --kv-state)
/// to keep in session state: each eff.paged_kv_write whose cache is a static
/// input read by nothing else (eff.shape aside) and whose result is returned
/// once and otherwise read only as eff.paged_attention(_partial)'s k_cache /
/// v_cache. All of them or none, remarks as above.
std::vector<StateCandidate> findPagedPoolStates(mlir::func::FuncOp func, bool remarks);

} // namespace effc

#endif
