// sequence.h: the state of one prompt inside a context.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "compress/attention_probe.h"
#include "compress/compress.h"
#include "headkv.h"
#include "kv_cache.h"
#include "sampler.h"

namespace hkv {

struct Sequence {
  int32_t id = 0;
  hkv_seq_state state = HKV_SEQ_PENDING;
  hkv_finish_reason finish = HKV_FINISH_NONE;
  std::vector<int32_t> prompt;            // [n_prompt]
  std::vector<int32_t> generated;         // [n_generated] sampled tokens
  int32_t max_new_tokens = 0;
  std::vector<int32_t> stop_token_ids;
  hkv_kv_params kv{};                     // kv.head_scores points into head_scores below
  std::vector<float> head_scores;         // [n_layers * n_heads] (HeadKV methods)
  CompressionPlan plan;
  std::vector<HeadCache> heads;           // [n_layers * plan.cache_heads]
  std::unique_ptr<Sampler> sampler;
  int32_t slot = -1;                      // row of the backend's logits store, while admitted
  bool has_logits = false;                // the slot's row holds this sequence's last logits
  int32_t n_past = 0;                     // positions already in the cache (prompt + fed tokens)
  int64_t reserve_pages = 0;              // pages admission promised to this sequence
  std::unique_ptr<AttentionProbe> probe;  // head-importance profiling, when attached
  std::atomic<bool> cancelled{false};

  int64_t pages_held() const {
    int64_t n = 0;
    for (const auto &h : heads) n += static_cast<int64_t>(h.pages.size());
    return n;
  }
  int64_t tokens_kept() const {
    int64_t n = 0;
    for (const auto &h : heads) n += h.len();
    return n;
  }
};

}  // namespace hkv
