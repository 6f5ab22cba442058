// kv_cache.h: the paged per-head KV cache. One pool of fixed-size pages per context; every
// (sequence, layer, cache head) owns its own list of pages and its own length, so heads of one
// sequence may keep different numbers of tokens (HeadKV) and pages go back to the pool as soon
// as a head no longer needs them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace hkv {

// A page holds K and V of `page_tokens` tokens of ONE head: [page_tokens][head_dim] keys
// followed by [page_tokens][head_dim] values, fp32.
class PagePool {
 public:
  PagePool(int64_t n_pages, int page_tokens, int head_dim);

  int page_tokens() const { return page_tokens_; }
  int head_dim() const { return head_dim_; }
  int64_t page_bytes() const { return int64_t(2) * page_tokens_ * head_dim_ * sizeof(float); }
  int64_t pages_total() const { return n_pages_; }
  int64_t pages_free() const { return static_cast<int64_t>(free_.size()); }
  int64_t pages_used() const { return n_pages_ - pages_free(); }

  int32_t take();  // -1 if the pool is empty
  void give(int32_t page);

  float *keys(int32_t page) { return data_.get() + int64_t(page) * page_floats(); }
  float *values(int32_t page) { return keys(page) + int64_t(page_tokens_) * head_dim_; }
  const float *keys(int32_t page) const { return data_.get() + int64_t(page) * page_floats(); }
  const float *values(int32_t page) const { return keys(page) + int64_t(page_tokens_) * head_dim_; }

 private:
  int64_t page_floats() const { return int64_t(2) * page_tokens_ * head_dim_; }

  int64_t n_pages_;
  int page_tokens_;
  int head_dim_;
  std::unique_ptr<float[]> data_;  // not value-initialised: the OS commits pages on first write
  std::vector<int32_t> free_;
};

// The cache of one head of one sequence.
struct HeadCache {
  std::vector<int32_t> pages;      // page ids in token order
  std::vector<int32_t> positions;  // [len] true position of each kept token
  int32_t len() const { return static_cast<int32_t>(positions.size()); }
};

// Appends one token's key and value to a head, taking a page when the last one is full.
// Returns false when no page could be taken.
bool append_token(PagePool &pool, HeadCache &head, const float *k, const float *v, int32_t position);

// Returns every page of the head to the pool.
void release_head(PagePool &pool, HeadCache &head);

}  // namespace hkv
