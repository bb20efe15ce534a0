// The paged KV cache's bookkeeping and store (PagedKvCache.h).
#include "PagedKvCache.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace effc::detail {

StatusOr<PagedKvCache> PagedKvCache::create(int64_t pageSize, int64_t pages, int64_t slots,
                                            std::vector<TensorLayout> tensors,
                                            int64_t storagePages) {
  if (pageSize < 1 || pageSize > 65536)
    return Status::error("KV page size must be 1..65536 tokens, got " + std::to_string(pageSize));
  if (pages < 1 || pages > (int64_t(1) << 30))
    return Status::error("KV pool must have 1..2^30 pages, got " + std::to_string(pages));
  if (storagePages == 0)
    storagePages = pages;
  if (storagePages < pages)
    return Status::error("internal error: KV store of " + std::to_string(storagePages) +
                         " pages for a pool of " + std::to_string(pages));
  if (slots < 1)
    return Status::error("KV cache needs at least one slot, got " + std::to_string(slots));
  int64_t pageBytes = 0;
  for (const TensorLayout &t : tensors) {
    if (t.heads < 1 || t.rowBytes < 1)
      return Status::error("internal error: KV cache tensor of " + std::to_string(t.heads) +
                           " heads x " + std::to_string(t.rowBytes) + " bytes");
    pageBytes += t.heads * pageSize * t.rowBytes;
  }
  if (pageBytes > 0 && storagePages > (int64_t(1) << 40) / pageBytes)
    return Status::error("KV pool of " + std::to_string(storagePages) + " pages x " +
                         std::to_string(pageBytes) + " bytes is larger than 1 TiB");
  PagedKvCache c;
  c.pageSize_ = pageSize;
  c.tensors_ = std::move(tensors);
  for (const TensorLayout &t : c.tensors_)
    c.data_.emplace_back(size_t(storagePages * t.heads * pageSize * t.rowBytes), uint8_t(0));
  c.refs_.assign(size_t(pages), 0);
  c.fill_.assign(size_t(pages), 0);
  for (int64_t p = pages - 1; p >= 0; --p) // page 0 first
    c.free_.push_back(int32_t(p));
  c.tables_.resize(size_t(slots));
  c.lengths_.assign(size_t(slots), 0);
  return c;
}

int32_t PagedKvCache::allocate() {
  int32_t p = free_.back();
  free_.pop_back();
  refs_[size_t(p)] = 1;
  fill_[size_t(p)] = 0;
  peakUsed_ = std::max(peakUsed_, pages() - freePages());
  return p;
}

void PagedKvCache::drop(int32_t page) {
  if (--refs_[size_t(page)] == 0) {
    fill_[size_t(page)] = 0;
    free_.push_back(page);
  }
}

int64_t PagedKvCache::pagesToGrow(int64_t slot, int64_t length) const {
  const auto &table = tables_[size_t(slot)];
  const int64_t held = lengths_[size_t(slot)];
  if (length <= held)
    return 0;
  int64_t need = (length + pageSize_ - 1) / pageSize_ - int64_t(table.size());
  // Writing into a partly filled page that another slot holds copies it.
  if (held % pageSize_ != 0 && refs_[size_t(table[size_t(held / pageSize_)])] > 1)
    ++need;
  return std::max<int64_t>(need, 0);
}

Status PagedKvCache::append(int64_t slot, int64_t count) {
  auto &table = tables_[size_t(slot)];
  int64_t &held = lengths_[size_t(slot)];
  if (count <= 0)
    return Status::OK();
  int64_t need = pagesToGrow(slot, held + count);
  if (need > freePages())
    return Status::error("KV pool full: growing a sequence from " + std::to_string(held) + " to " +
                         std::to_string(held + count) + " tokens needs " + std::to_string(need) +
                         " pages, " + std::to_string(freePages()) + " of " +
                         std::to_string(pages()) + " are free");
  if (held % pageSize_ != 0) {
    int32_t &page = table[size_t(held / pageSize_)];
    if (refs_[size_t(page)] > 1) { // copy-on-write: the rows this slot holds
      int32_t copy = allocate();
      const int64_t rows = held % pageSize_;
      if (copyPage_) {
        if (Status s = copyPage_(page, copy); !s.ok()) {
          drop(copy);
          return s;
        }
      }
      for (size_t k = 0; k < tensors_.size() && !copyPage_; ++k)
        for (int64_t h = 0; h < tensors_[k].heads; ++h)
          std::memcpy(data_[k].data() + offset(k, copy, h, 0),
                      data_[k].data() + offset(k, page, h, 0), size_t(rows * tensors_[k].rowBytes));
      fill_[size_t(copy)] = int32_t(rows);
      drop(page);
      page = copy;
      ++copiedTotal_;
    }
  }
  while (int64_t(table.size()) * pageSize_ < held + count)
    table.push_back(allocate());
  for (int64_t t = held; t < held + count; t = (t / pageSize_ + 1) * pageSize_) {
    int32_t page = table[size_t(t / pageSize_)];
    int64_t end = std::min(held + count, (t / pageSize_ + 1) * pageSize_);
    fill_[size_t(page)] = std::max(fill_[size_t(page)], int32_t(end - (t / pageSize_) * pageSize_));
  }
  held += count;
  return Status::OK();
}

StatusOr<int64_t> PagedKvCache::share(int64_t dst, int64_t src, int64_t length) {
  if (dst == src || lengths_[size_t(dst)] != 0 || length < 0 || length > lengths_[size_t(src)])
    return Status::error("internal error: KV cache share of " + std::to_string(length) +
                         " positions from slot " + std::to_string(src) + " into slot " +
                         std::to_string(dst));
  auto &to = tables_[size_t(dst)];
  const auto &from = tables_[size_t(src)];
  int64_t n = (length + pageSize_ - 1) / pageSize_;
  for (int64_t i = 0; i < n; ++i) {
    to.push_back(from[size_t(i)]);
    ++refs_[size_t(from[size_t(i)])];
  }
  lengths_[size_t(dst)] = length;
  sharedTotal_ += n;
  return n;
}

void PagedKvCache::truncate(int64_t slot, int64_t length) {
  auto &table = tables_[size_t(slot)];
  int64_t &held = lengths_[size_t(slot)];
  length = std::clamp<int64_t>(length, 0, held);
  size_t keep = size_t((length + pageSize_ - 1) / pageSize_);
  while (table.size() > keep) {
    drop(table.back());
    table.pop_back();
  }
  if (keep > 0 && refs_[size_t(table.back())] == 1)
    fill_[size_t(table.back())] = int32_t(length - int64_t(keep - 1) * pageSize_);
  held = length;
}

void PagedKvCache::move(int64_t dst, int64_t src) {
  if (dst == src)
    return;
  truncate(dst, 0);
  tables_[size_t(dst)] = std::move(tables_[size_t(src)]);
  tables_[size_t(src)].clear();
  lengths_[size_t(dst)] = lengths_[size_t(src)];
  lengths_[size_t(src)] = 0;
}

uint8_t *PagedKvCache::row(int64_t slot, size_t tensor, int64_t head, int64_t position) {
  int32_t page = tables_[size_t(slot)][size_t(position / pageSize_)];
  return data_[tensor].data() + offset(tensor, page, head, position % pageSize_);
}

const uint8_t *PagedKvCache::row(int64_t slot, size_t tensor, int64_t head,
                                 int64_t position) const {
  int32_t page = tables_[size_t(slot)][size_t(position / pageSize_)];
  return data_[tensor].data() + offset(tensor, page, head, position % pageSize_);
}

PagedKvCache::Usage PagedKvCache::usage() const {
  Usage u;
  u.pages = pages();
  for (size_t p = 0; p < refs_.size(); ++p)
    if (refs_[p] > 0) {
      ++u.used;
      u.shared += refs_[p] > 1;
      u.rowsStored += fill_[p];
    }
  for (int64_t l : lengths_)
    u.tokensHeld += l;
  u.sharedTotal = sharedTotal_;
  u.copiedTotal = copiedTotal_;
  u.peakUsed = peakUsed_;
  return u;
}

void PagedKvCache::keepPagesElsewhere(std::function<Status(int32_t, int32_t)> copyPage) {
  copyPage_ = std::move(copyPage);
  for (auto &d : data_)
    std::vector<uint8_t>().swap(d);
}

} // namespace effc::detail
