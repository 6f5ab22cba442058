// context.h: one inference session, independent of the device: the sequences, admission
// control against the page pool and the logits slots, the per-sequence random draws, and
// stopping. The forward pass and picking tokens from logits are the backend's.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend.h"
#include "headkv.h"
#include "kv_cache.h"
#include "model.h"
#include "sequence.h"

namespace hkv {

class Context {
 public:
  Context(const Config &cfg, const hkv_context_params &params, std::unique_ptr<Backend> backend, PagePool pages);

  int32_t add(const int32_t *prompt, int32_t n_prompt, const hkv_sampling_params &sampling, const hkv_kv_params &kv);
  int32_t prefill(int32_t id, hkv_progress_fn progress, void *user);
  int32_t fork(int32_t id, const hkv_sampling_params &sampling);
  int32_t step(hkv_step_token *out, int32_t max_out);
  void cancel(int32_t id);
  void remove(int32_t id);
  void attach_probe(int32_t id, std::unique_ptr<AttentionProbe> probe);

  const Sequence &get(int32_t id) const;
  // The sequence's last logits (vocab floats into out[n]), fetched from the backend.
  void read_logits(int32_t id, float *out, int32_t n) const;
  hkv_seq_info info(int32_t id) const;
  hkv_context_stats stats() const;

 private:
  Sequence &get_mut(int32_t id);
  int64_t token_bytes() const { return pages_.page_bytes() / pages_.page_tokens(); }  // K+V of one token, one head
  int64_t pages_needed(const Sequence &seq) const;
  int64_t pages_promised() const;  // reserved by admitted sequences but not yet taken
  void release(Sequence &seq);
  static void check_sampling(const hkv_sampling_params &sampling);
  int32_t admit(std::unique_ptr<Sequence> seq);  // reserves its pages and gives it an id
  void finish_token(Sequence &seq, int32_t token);

  const Config &cfg_;
  hkv_context_params params_;
  std::unique_ptr<Backend> backend_;
  PagePool pages_;
  std::map<int32_t, std::unique_ptr<Sequence>> seqs_;
  mutable std::mutex seqs_mutex_;  // guards the map's structure for cancel() from other threads
  std::vector<bool> slot_taken_;  // [max_sequences]: the backend's logits rows in use
  int32_t next_id_ = 1;
};

}  // namespace hkv
