// context.h: one inference session: the page pool, the sequences, and the two phases of the
// forward pass (chunked layer-major prefill with compression, batched decode steps).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "headkv.h"
#include "kv_cache.h"
#include "model.h"
#include "rope.h"
#include "sequence.h"
#include "thread_pool.h"

namespace hkv {

class Context {
 public:
  Context(const LoadedModel &model, ThreadPool &pool, const hkv_context_params &params);

  int32_t add(const int32_t *prompt, int32_t n_prompt, const hkv_sampling_params &sampling, const hkv_kv_params &kv);
  int32_t prefill(int32_t id, hkv_progress_fn progress, void *user);
  int32_t step(hkv_step_token *out, int32_t max_out);
  void cancel(int32_t id);
  void remove(int32_t id);
  void attach_probe(int32_t id, std::unique_ptr<AttentionProbe> probe);

  const Sequence &get(int32_t id) const;
  hkv_seq_info info(int32_t id) const;
  hkv_context_stats stats() const;
  int64_t token_bytes() const { return int64_t(2) * cfg_.head_dim * sizeof(float); }  // K+V of one token, one head

 private:
  Sequence &get_mut(int32_t id);
  int64_t pages_needed(const Sequence &seq) const;
  int64_t pages_promised() const;  // reserved by admitted sequences but not yet taken
  void prefill_layer(Sequence &seq, int layer, float *x, int n, hkv_progress_fn progress, void *user);
  void store_layer(Sequence &seq, int layer, const float *keys, const float *values, int n,
                   const std::vector<float> &q_window);
  void finish_token(Sequence &seq, int32_t token);

  const Config &cfg_;
  const Weights &w_;
  ThreadPool &pool_;
  hkv_context_params params_;
  Rope rope_;
  PagePool pages_;
  std::map<int32_t, std::unique_ptr<Sequence>> seqs_;
  mutable std::mutex seqs_mutex_;  // guards the map's structure for cancel() from other threads
  int32_t next_id_ = 1;
};

}  // namespace hkv
