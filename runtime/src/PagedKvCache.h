// A paged KV cache (issue 19 part 1, runtime side): one pool of fixed-size
// pages per cache tensor (a layer's key or value), a block table per slot,
// pages allocated as a slot grows and returned when it shrinks or is
// released. Pages are reference-counted so that slots whose sequences share a
// prefix share its pages (issue 19 part 3): share() attaches another slot's
// pages, and a write into a page that more than one slot holds first copies
// it (copy-on-write at the first divergent page).
//
// Page layout: page p of tensor k holds [heads_k, pageSize, rowBytes_k]
// (vLLM's per-head blocks): the row of position t of a slot lives in page
// blockTable[t / pageSize] at row t % pageSize of each head. Every tensor
// shares the block tables (one page id indexes all layers' pools).
//
// The store is host memory. A with-past decoder reads a contiguous past
// (PagedSlotModel.cpp gathers it per run); one compiled with --paged-kv takes
// the store itself as its page pools (data()) and reads it through the block
// tables.
#pragma once

#include "effc/Status.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace effc::detail {

class PagedKvCache {
public:
  struct TensorLayout {
    int64_t heads = 1;
    int64_t rowBytes = 0; ///< bytes of one position of one head (head_dim x dtype)
  };
  struct Usage {
    int64_t pages = 0;       ///< pool size
    int64_t used = 0;        ///< pages held by at least one slot
    int64_t shared = 0;      ///< pages held by more than one slot now
    int64_t rowsStored = 0;  ///< positions written in the used pages (a shared page counts once)
    int64_t tokensHeld = 0;  ///< the slots' lengths summed (a shared position counts per slot)
    int64_t sharedTotal = 0; ///< page references taken by share() since construction
    int64_t copiedTotal = 0; ///< copy-on-write page copies since construction
    int64_t peakUsed = 0;    ///< most pages used at once
  };

  /// Errors name a bad page size, pool size or layout. The store holds
  /// `storagePages` pages per tensor (0: `pages`; more: a compiled pool
  /// larger than the pages the cache hands out).
  static StatusOr<PagedKvCache> create(int64_t pageSize, int64_t pages, int64_t slots,
                                       std::vector<TensorLayout> tensors, int64_t storagePages = 0);

  int64_t pageSize() const { return pageSize_; }
  int64_t pages() const { return int64_t(refs_.size()); }
  int64_t freePages() const { return int64_t(free_.size()); }
  int64_t slots() const { return int64_t(tables_.size()); }
  int64_t length(int64_t slot) const { return lengths_[size_t(slot)]; }
  const std::vector<int32_t> &blockTable(int64_t slot) const { return tables_[size_t(slot)]; }
  int32_t refCount(int32_t page) const { return refs_[size_t(page)]; }

  /// Pages growing `slot` to `length` positions would take from the pool
  /// (new pages, and a copy of a shared page the growth writes into).
  int64_t pagesToGrow(int64_t slot, int64_t length) const;
  /// Makes positions [length, length + count) of `slot` writable (allocating
  /// pages, copying a shared page they fall in) and the slot's length
  /// length + count. Fails, changing nothing, when the pool has too few free pages.
  Status append(int64_t slot, int64_t count);
  /// Slot `dst` (empty) takes the pages holding `src`'s first `length`
  /// positions (<= src's length), sharing them; returns the pages attached.
  StatusOr<int64_t> share(int64_t dst, int64_t src, int64_t length);
  /// Forgets positions past `length` (<= the slot's length); whole pages
  /// past it return to the pool.
  void truncate(int64_t slot, int64_t length);
  /// Empties `slot`.
  void release(int64_t slot) { truncate(slot, 0); }
  /// Slot `dst` (empty) takes over `src`'s pages and length; `src` is empty
  /// after it (no reference count changes).
  void move(int64_t dst, int64_t src);

  /// The row of `position` (< the slot's length) of `head` in tensor `tensor`.
  uint8_t *row(int64_t slot, size_t tensor, int64_t head, int64_t position);
  const uint8_t *row(int64_t slot, size_t tensor, int64_t head, int64_t position) const;

  /// Tensor `tensor`'s store, [storage pages, heads, pageSize, rowBytes]:
  /// the page pool a model compiled with --paged-kv takes as an input.
  uint8_t *data(size_t tensor) { return data_[tensor].data(); }
  size_t dataBytes(size_t tensor) const { return data_[tensor].size(); }

  /// The pages live elsewhere (a model's pools kept in session state,
  /// issue 19): the store is dropped (data()/row() are then unusable) and
  /// copy-on-write calls `copyPage(from, to)` instead of copying rows.
  void keepPagesElsewhere(std::function<Status(int32_t from, int32_t to)> copyPage);

  Usage usage() const;

private:
  PagedKvCache() = default;
  int32_t allocate();
  void drop(int32_t page);
  size_t offset(size_t tensor, int32_t page, int64_t head, int64_t r) const {
    const TensorLayout &l = tensors_[tensor];
    return size_t(((int64_t(page) * l.heads + head) * pageSize_ + r) * l.rowBytes);
  }

  int64_t pageSize_ = 0;
  std::vector<TensorLayout> tensors_;
  std::vector<std::vector<uint8_t>> data_; ///< per tensor: pages x [heads, pageSize, rowBytes]
  std::function<Status(int32_t, int32_t)> copyPage_; ///< set: the pages live elsewhere
  std::vector<int32_t> refs_;                        ///< per page: slots holding it
  std::vector<int32_t> fill_;                        ///< per page: rows written (for the waste)
  std::vector<int32_t> free_;                        ///< free page ids (a stack)
  std::vector<std::vector<int32_t>> tables_;
  std::vector<int64_t> lengths_;
  int64_t sharedTotal_ = 0, copiedTotal_ = 0, peakUsed_ = 0;
};

} // namespace effc::detail
