// kv_cache.h: the paged per-head KV cache's bookkeeping. A context has one pool of fixed-size
// pages; every (sequence, layer, cache head) owns its own list of pages and its own length, so
// heads of one sequence may keep different numbers of tokens (HeadKV) and pages go back to the
// pool as soon as a head no longer needs them. The pool hands out page ids; the backend owns
// the memory behind them (host fp32 on the CPU, device bf16 on CUDA).
#pragma once

#include <cstdint>
#include <vector>

namespace hkv {

class PagePool {
 public:
  // page_bytes: K and V of page_tokens tokens of one head, in the backend's element type.
  PagePool(int64_t n_pages, int page_tokens, int64_t page_bytes);

  int page_tokens() const { return page_tokens_; }
  int64_t page_bytes() const { return page_bytes_; }
  int64_t pages_total() const { return n_pages_; }
  int64_t pages_free() const { return static_cast<int64_t>(free_.size()); }
  int64_t pages_used() const { return n_pages_ - pages_free(); }

  int32_t take();  // -1 if the pool is empty
  void give(int32_t page);

 private:
  int64_t n_pages_;
  int page_tokens_;
  int64_t page_bytes_;
  std::vector<int32_t> free_;
};

// The cache of one head of one sequence: token t lives in page pages[t / page_tokens], slot
// t % page_tokens.
struct HeadCache {
  std::vector<int32_t> pages;      // page ids in token order
  std::vector<int32_t> positions;  // [len] true position of each kept token
  int32_t len() const { return static_cast<int32_t>(positions.size()); }
};

// Reserves the slot of one more token at `position`, taking a page when the last one is full.
// Returns the slot index within its page, or -1 when no page could be taken.
int reserve_slot(PagePool &pool, HeadCache &head, int32_t position);

// Returns every page of the head to the pool.
void release_head(PagePool &pool, HeadCache &head);

}  // namespace hkv
