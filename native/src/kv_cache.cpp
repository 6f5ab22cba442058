#include "kv_cache.h"

#include <cstring>

namespace hkv {

PagePool::PagePool(int64_t n_pages, int page_tokens, int head_dim)
    : n_pages_(n_pages), page_tokens_(page_tokens), head_dim_(head_dim), data_(new float[n_pages * page_floats()]) {
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

bool append_token(PagePool &pool, HeadCache &head, const float *k, const float *v, int32_t position) {
  const int pt = pool.page_tokens();
  const int slot = head.len() % pt;
  if (slot == 0) {
    int32_t page = pool.take();
    if (page < 0) return false;
    head.pages.push_back(page);
  }
  const int32_t page = head.pages.back();
  const size_t bytes = sizeof(float) * pool.head_dim();
  std::memcpy(pool.keys(page) + int64_t(slot) * pool.head_dim(), k, bytes);
  std::memcpy(pool.values(page) + int64_t(slot) * pool.head_dim(), v, bytes);
  head.positions.push_back(position);
  return true;
}

void release_head(PagePool &pool, HeadCache &head) {
  for (int32_t p : head.pages) pool.give(p);
  head.pages.clear();
  head.positions.clear();
  head.positions.shrink_to_fit();
}

}  // namespace hkv
