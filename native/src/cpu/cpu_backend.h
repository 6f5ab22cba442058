// cpu_backend.h: the fp32 CPU forward pass (the reference backend): chunked layer-major
// prefill with per-layer compression, batched decode over the paged per-head cache, and the
// reference sampler (pick_token) over logits kept per sequence slot in host memory.
#pragma once

#include <memory>
#include <vector>

#include "backend.h"
#include "model.h"
#include "rope.h"
#include "thread_pool.h"

namespace hkv {

class CpuBackend final : public Backend {
 public:
  // Bytes of one page: K and V of page_tokens tokens of one head, fp32.
  static int64_t page_bytes(const Config &cfg, int page_tokens) {
    return int64_t(2) * page_tokens * cfg.head_dim * (int64_t)sizeof(float);
  }

  CpuBackend(const LoadedModel &model, ThreadPool &pool, int64_t n_pages, int page_tokens, int prefill_chunk,
             int max_sequences);

  void prefill(Sequence &seq, PagePool &pages, hkv_progress_fn progress, void *user) override;
  void decode(const std::vector<Sequence *> &batch, PagePool &pages) override;
  void sample(const std::vector<Sequence *> &seqs, const std::vector<TokenDraw> &draws,
              std::vector<int32_t> &tokens) override;
  void read_logits(int32_t slot, float *out) const override;
  void copy_logits(int32_t src, int32_t dst) override;
  void copy_page(int32_t src, int32_t dst) override;

 private:
  float *keys(int32_t page) { return kv_.get() + int64_t(page) * 2 * page_tokens_ * cfg_.head_dim; }
  float *values(int32_t page) { return keys(page) + int64_t(page_tokens_) * cfg_.head_dim; }
  float *logits(int32_t slot) { return logits_.get() + (size_t)slot * cfg_.vocab; }
  // The first cache entry of `head` (of `layer`) that a query at `position` attends: the first
  // kept token inside the layer's sliding window (0 without one).
  int window_start(const HeadCache &head, int layer, int32_t position) const;
  // Copies one token's K and V of one head into the head's next slot.
  void append(PagePool &pages, HeadCache &head, const float *k, const float *v, int32_t position);
  void prefill_layer(Sequence &seq, PagePool &pages, int layer, float *x, int n, hkv_progress_fn progress, void *user);
  void store_layer(Sequence &seq, PagePool &pages, int layer, const float *keys, const float *values, int n,
                   const std::vector<float> &q_window);

  const Config &cfg_;
  const Weights &w_;
  ThreadPool &pool_;
  Rope rope_;
  int page_tokens_;
  // Prompt tokens per prefill chunk when the context asks for the default (0): enough rows for
  // the packed matmul, few enough that a chunk's activations stay in cache.
  static constexpr int kDefaultPrefillChunk = 512;
  int prefill_chunk_;
  std::unique_ptr<float[]> kv_;  // [n_pages][2][page_tokens][head_dim]; not value-initialised, so
                                 // the OS commits memory only where pages are written
  std::unique_ptr<float[]> logits_;  // [max_sequences][vocab]: each slot's last logits
  std::vector<std::pair<float, int32_t>> candidates_;  // pick_token's scratch
};

}  // namespace hkv
