#include "kv_cache.h"

namespace hkv {

PagePool::PagePool(int64_t n_pages, int page_tokens, int64_t page_bytes)
    : n_pages_(n_pages), page_tokens_(page_tokens), page_bytes_(page_bytes) {
  free_.reserve(n_pages);
  // Hand out low page ids first so a lightly used pool touches little memory.
  for (int64_t p = n_pages - 1; p >= 0; p--) free_.push_back(static_cast<int32_t>(p));
}

int32_t PagePool::take() {
  if (free_.empty()) return -1;
  int32_t p = free_.back();
  free_.pop_back();
  return p;
}

void PagePool::give(int32_t page) { free_.push_back(page); }

int reserve_slot(PagePool &pool, HeadCache &head, int32_t position) {
  const int slot = head.len() % pool.page_tokens();
  if (slot == 0) {
    const int32_t page = pool.take();
    if (page < 0) return -1;
    head.pages.push_back(page);
  }
  head.positions.push_back(position);
  return slot;
}

void release_head(PagePool &pool, HeadCache &head) {
  for (int32_t p : head.pages) pool.give(p);
  head.pages.clear();
  head.positions.clear();
  head.positions.shrink_to_fit();
}

}  // namespace hkv
