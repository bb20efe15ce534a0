// The paged KV cache's pool and block tables (runtime/src/PagedKvCache.h):
// pages allocated as a slot grows and returned when it shrinks, rows
// addressed through the block table, prefix sharing with reference counts
// and copy-on-write at the first page written differently, accounting
// (used, shared, rows stored = waste), a full pool and bad sizes.
#include "PagedKvCache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace effc::detail;

namespace {

// Two tensors (a layer's key and value): 2 heads of 4 bytes, 1 head of 8.
PagedKvCache makeCache(int64_t pageSize = 4, int64_t pages = 6, int64_t slots = 3) {
  auto c = PagedKvCache::create(pageSize, pages, slots, {{2, 4}, {1, 8}});
  EXPECT_TRUE(c.ok()) << c.status().message();
  return std::move(*c);
}

/// Writes a value naming (slot, tensor, head, position) into each new row.
void writeRows(PagedKvCache &c, int64_t slot, int64_t from, int64_t to, int salt = 0) {
  for (int64_t t = from; t < to; ++t) {
    int32_t v = int32_t(salt * 100000 + slot * 10000 + t * 10);
    std::memcpy(c.row(slot, 0, 0, t), &v, 4);
    v += 1;
    std::memcpy(c.row(slot, 0, 1, t), &v, 4);
    v += 1;
    std::memcpy(c.row(slot, 1, 0, t), &v, 4);
  }
}

int32_t readRow(const PagedKvCache &c, int64_t slot, size_t tensor, int64_t head, int64_t t) {
  int32_t v;
  std::memcpy(&v, c.row(slot, tensor, head, t), 4);
  return v;
}

} // namespace

TEST(PagedKvCache, PagesFollowTheLengthAndRowsTheBlockTable) {
  PagedKvCache c = makeCache();
  EXPECT_EQ(c.pagesToGrow(0, 5), 2);
  ASSERT_TRUE(c.append(0, 5).ok());
  writeRows(c, 0, 0, 5);
  EXPECT_EQ(c.length(0), 5);
  EXPECT_EQ(c.blockTable(0).size(), 2u);
  EXPECT_EQ(c.freePages(), 4);
  EXPECT_EQ(c.pagesToGrow(0, 8), 0); // fits the partly filled page
  EXPECT_EQ(c.pagesToGrow(0, 9), 1);
  ASSERT_TRUE(c.append(1, 3).ok());
  writeRows(c, 1, 0, 3);
  ASSERT_TRUE(c.append(0, 4).ok()); // 9 positions: a third page
  writeRows(c, 0, 5, 9);
  EXPECT_EQ(c.blockTable(0).size(), 3u);
  for (int64_t t = 0; t < 9; ++t) {
    EXPECT_EQ(readRow(c, 0, 0, 0, t), 10 * t);
    EXPECT_EQ(readRow(c, 0, 0, 1, t), 10 * t + 1);
    EXPECT_EQ(readRow(c, 0, 1, 0, t), 10 * t + 2);
  }
  for (int64_t t = 0; t < 3; ++t)
    EXPECT_EQ(readRow(c, 1, 0, 0, t), 10000 + 10 * t);
  // Pages are distinct between slots, and one id indexes both tensors.
  EXPECT_NE(c.blockTable(0)[2], c.blockTable(1)[0]);
  auto u = c.usage();
  EXPECT_EQ(u.used, 4);
  EXPECT_EQ(u.rowsStored, 12); // waste: 4 * 4 - 12
  EXPECT_EQ(u.tokensHeld, 12);
  EXPECT_EQ(u.peakUsed, 4);
  // Truncating returns whole pages; releasing returns every page.
  c.truncate(0, 4);
  EXPECT_EQ(c.blockTable(0).size(), 1u);
  EXPECT_EQ(c.freePages(), 4);
  EXPECT_EQ(readRow(c, 0, 0, 0, 3), 30);
  c.release(0);
  c.release(1);
  EXPECT_EQ(c.freePages(), 6);
  EXPECT_EQ(c.usage().used, 0);
  EXPECT_EQ(c.usage().rowsStored, 0);
  EXPECT_EQ(c.usage().peakUsed, 4);
}

TEST(PagedKvCache, SharedPrefixPagesAreCopiedOnTheFirstDivergentWrite) {
  PagedKvCache c = makeCache();
  ASSERT_TRUE(c.append(0, 6).ok()); // pages: one full, one with 2 rows
  writeRows(c, 0, 0, 6);
  // Slot 1 shares the first 5 positions: both pages, refcount 2.
  auto n = c.share(1, 0, 5);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(c.blockTable(1), c.blockTable(0));
  EXPECT_EQ(c.refCount(c.blockTable(0)[0]), 2);
  EXPECT_EQ(c.usage().shared, 2);
  EXPECT_EQ(c.usage().used, 2);
  EXPECT_EQ(c.freePages(), 4);
  for (int64_t t = 0; t < 5; ++t)
    EXPECT_EQ(readRow(c, 1, 1, 0, t), 10 * t + 2);
  // Slot 1 writes position 5 (slot 0 holds another token there): the shared
  // page it falls in is copied (rows 4..4) first; the full page stays shared.
  EXPECT_EQ(c.pagesToGrow(1, 6), 1);
  ASSERT_TRUE(c.append(1, 1).ok());
  writeRows(c, 1, 5, 6, /*salt=*/7);
  EXPECT_EQ(c.blockTable(1)[0], c.blockTable(0)[0]);
  EXPECT_NE(c.blockTable(1)[1], c.blockTable(0)[1]);
  EXPECT_EQ(c.usage().copiedTotal, 1);
  EXPECT_EQ(c.usage().sharedTotal, 2);
  EXPECT_EQ(c.usage().shared, 1);
  EXPECT_EQ(readRow(c, 1, 0, 1, 4), 41);             // copied
  EXPECT_EQ(readRow(c, 1, 0, 0, 5), 700000 + 10050); // its own
  EXPECT_EQ(readRow(c, 0, 0, 0, 5), 50);             // slot 0 unchanged
  EXPECT_EQ(c.refCount(c.blockTable(0)[1]), 1);
  // A share that ends on a page boundary grows into a new page, no copy.
  ASSERT_TRUE(c.share(2, 0, 4).ok());
  EXPECT_EQ(c.pagesToGrow(2, 5), 1);
  ASSERT_TRUE(c.append(2, 1).ok());
  EXPECT_EQ(c.usage().copiedTotal, 1);
  EXPECT_EQ(c.refCount(c.blockTable(0)[0]), 3);
  // The shared page returns to the pool after its last holder.
  c.release(0);
  c.release(1);
  EXPECT_EQ(c.refCount(c.blockTable(2)[0]), 1);
  c.release(2);
  EXPECT_EQ(c.freePages(), 6);
}

// Pages kept elsewhere (a model's pools in session state): the store is
// dropped and copy-on-write asks the callback to copy the shared page onto
// the new one (Session::copyStatePage); a failing copy fails the append and
// gives the new page back.
TEST(PagedKvCache, PagesKeptElsewhereCopyThroughTheCallback) {
  PagedKvCache c = makeCache();
  std::vector<std::pair<int32_t, int32_t>> copies;
  bool fail = false;
  c.keepPagesElsewhere([&](int32_t from, int32_t to) {
    if (fail)
      return effc::Status::error("device copy failed");
    copies.push_back({from, to});
    return effc::Status::OK();
  });
  EXPECT_EQ(c.dataBytes(0), 0u);
  ASSERT_TRUE(c.append(0, 6).ok()); // one full page, one with 2 rows
  ASSERT_TRUE(c.share(1, 0, 5).ok());
  ASSERT_TRUE(c.share(2, 0, 5).ok());
  const int32_t shared = c.blockTable(0)[1];
  fail = true;
  effc::Status s = c.append(1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "device copy failed");
  EXPECT_EQ(c.freePages(), 4); // the page taken for the copy is back
  EXPECT_EQ(c.blockTable(1)[1], shared);
  fail = false;
  ASSERT_TRUE(c.append(1, 1).ok());
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].first, shared);
  EXPECT_EQ(copies[0].second, c.blockTable(1)[1]);
  EXPECT_NE(copies[0].second, shared);
  EXPECT_EQ(c.usage().copiedTotal, 1);
}

TEST(PagedKvCache, TruncateIntoASharedPageCopiesOnTheNextWrite) {
  PagedKvCache c = makeCache();
  ASSERT_TRUE(c.append(0, 8).ok());
  writeRows(c, 0, 0, 8);
  ASSERT_TRUE(c.share(1, 0, 8).ok());
  c.truncate(1, 6); // a rejected speculative draft: back into the shared page
  EXPECT_EQ(c.refCount(c.blockTable(0)[1]), 2);
  EXPECT_EQ(c.usage().rowsStored, 8); // slot 0 still holds all rows
  ASSERT_TRUE(c.append(1, 1).ok());
  writeRows(c, 1, 6, 7, 3);
  EXPECT_EQ(readRow(c, 0, 0, 0, 6), 60);
  EXPECT_EQ(readRow(c, 1, 0, 0, 5), 50);
  EXPECT_EQ(c.usage().copiedTotal, 1);
}

TEST(PagedKvCache, MoveHandsThePagesToAnotherSlot) {
  PagedKvCache c = makeCache();
  ASSERT_TRUE(c.append(0, 6).ok());
  writeRows(c, 0, 0, 6);
  auto table = c.blockTable(0);
  c.move(2, 0); // the prefix cache takes a finished sequence's pages
  EXPECT_EQ(c.length(0), 0);
  EXPECT_TRUE(c.blockTable(0).empty());
  EXPECT_EQ(c.length(2), 6);
  EXPECT_EQ(c.blockTable(2), table);
  EXPECT_EQ(c.refCount(table[0]), 1);
  EXPECT_EQ(readRow(c, 2, 1, 0, 5), 52);
  ASSERT_TRUE(c.share(1, 2, 5).ok());
  c.release(2);
  EXPECT_EQ(c.freePages(), 4);
  EXPECT_EQ(readRow(c, 1, 0, 0, 4), 40);
}

TEST(PagedKvCache, AFullPoolFailsAndChangesNothing) {
  PagedKvCache c = makeCache(4, 2, 2);
  ASSERT_TRUE(c.append(0, 7).ok());
  effc::Status s = c.append(1, 2);
  EXPECT_EQ(s.message(),
            "KV pool full: growing a sequence from 0 to 2 tokens needs 1 pages, 0 of 2 are free");
  EXPECT_EQ(c.length(1), 0);
  EXPECT_TRUE(c.blockTable(1).empty());
  EXPECT_TRUE(c.append(0, 1).ok()); // the last row of its page: no new page
  EXPECT_FALSE(c.append(0, 1).ok());
  EXPECT_EQ(c.length(0), 8);
}

TEST(PagedKvCache, BadSizesAreErrors) {
  auto bad = [](int64_t pageSize, int64_t pages) {
    auto c = PagedKvCache::create(pageSize, pages, 1, {{1, 4}});
    return c.ok() ? std::string("<ok>") : c.status().message();
  };
  EXPECT_EQ(bad(0, 4), "KV page size must be 1..65536 tokens, got 0");
  EXPECT_EQ(bad(4, 0), "KV pool must have 1..2^30 pages, got 0");
  EXPECT_EQ(bad(1, 4), "<ok>");
}
