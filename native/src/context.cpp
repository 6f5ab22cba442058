#include "context.h"

#include <algorithm>
#include <string>

#include "error.h"

namespace hkv {

Context::Context(const Config &cfg, const hkv_context_params &params, std::unique_ptr<Backend> backend, PagePool pages)
    : cfg_(cfg), params_(params), backend_(std::move(backend)), pages_(std::move(pages)),
      slot_taken_((size_t)params_.max_sequences, false) {
  if (params_.max_context <= 0) params_.max_context = cfg_.max_positions;
}

Sequence &Context::get_mut(int32_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw Error(HKV_ERR_NOT_FOUND, "unknown sequence id " + std::to_string(id));
  return *it->second;
}

const Sequence &Context::get(int32_t id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw Error(HKV_ERR_NOT_FOUND, "unknown sequence id " + std::to_string(id));
  return *it->second;
}

// Pages a sequence can ever hold: each head's kept prompt tokens plus every token it may
// generate, rounded up to pages. Ada-SnapKV decides per-head counts only at selection time,
// so it gets the bound of its per-layer total spread over heads.
int64_t Context::pages_needed(const Sequence &seq) const {
  const int64_t pt = params_.page_tokens;
  const int64_t n_prompt = (int64_t)seq.prompt.size();
  const int64_t gen = std::min<int64_t>(seq.max_new_tokens, params_.max_context - n_prompt);
  const int ch = seq.plan.cache_heads;
  const int64_t prefix = n_prompt - seq.plan.window;
  int64_t pages = 0;
  for (int l = 0; l < cfg_.n_layers; l++) {
    if (!seq.plan.compress) {
      pages += ch * ((n_prompt + gen + pt - 1) / pt);
    } else if (seq.kv.method == HKV_KV_ADA_SNAPKV) {
      int64_t layer_total = 0;
      for (int h = 0; h < ch; h++) layer_total += seq.plan.caps[(size_t)l * ch + h];
      layer_total = std::min<int64_t>(layer_total, prefix * ch);
      pages += (layer_total + ch * (seq.plan.window + gen)) / pt + ch;
    } else {
      for (int h = 0; h < ch; h++) {
        const int64_t kept = std::min<int64_t>(seq.plan.caps[(size_t)l * ch + h], prefix) + seq.plan.window;
        pages += (kept + gen + pt - 1) / pt;
      }
    }
  }
  return pages;
}

int64_t Context::pages_promised() const {
  int64_t promised = 0;
  for (const auto &kv : seqs_) promised += std::max<int64_t>(0, kv.second->reserve_pages - kv.second->pages_held());
  return promised;
}

int32_t Context::add(const int32_t *prompt, int32_t n_prompt, const hkv_sampling_params &sampling,
                     const hkv_kv_params &kv) {
  if (n_prompt <= 0) throw Error(HKV_ERR_INVALID_ARGUMENT, "prompt: must hold at least one token");
  if (n_prompt >= params_.max_context)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "prompt: " + std::to_string(n_prompt) +
                                              " tokens leave no room to generate within the context limit of " +
                                              std::to_string(params_.max_context));
  for (int32_t i = 0; i < n_prompt; i++)
    if (prompt[i] < 0 || prompt[i] >= cfg_.vocab)
      throw Error(HKV_ERR_INVALID_ARGUMENT, "prompt[" + std::to_string(i) + "]: token id " + std::to_string(prompt[i]) +
                                                " is outside the vocabulary (0.." + std::to_string(cfg_.vocab - 1) + ")");
  check_sampling(sampling);

  auto seq = std::make_unique<Sequence>();
  seq->prompt.assign(prompt, prompt + n_prompt);
  seq->max_new_tokens = sampling.max_new_tokens;
  if (sampling.stop_token_ids && sampling.n_stop_token_ids > 0)
    seq->stop_token_ids.assign(sampling.stop_token_ids, sampling.stop_token_ids + sampling.n_stop_token_ids);
  seq->kv = kv;
  if (kv.method == HKV_KV_HEADKV && kv.head_scores) {
    seq->head_scores.assign(kv.head_scores, kv.head_scores + (size_t)cfg_.n_layers * cfg_.n_heads);
    seq->kv.head_scores = seq->head_scores.data();
  } else {
    seq->kv.head_scores = nullptr;
  }
  seq->plan = plan_compression(cfg_, seq->kv, n_prompt);
  seq->heads.resize((size_t)cfg_.n_layers * seq->plan.cache_heads);
  seq->sampler = std::make_unique<Sampler>(sampling);
  return admit(std::move(seq));
}

void Context::check_sampling(const hkv_sampling_params &sampling) {
  if (sampling.max_new_tokens < 1) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.max_new_tokens: must be >= 1");
  if (!(sampling.temperature >= 0.f)) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.temperature: must be >= 0");
  if (!(sampling.top_p > 0.f && sampling.top_p <= 1.f))
    throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.top_p: must be in (0, 1]");
  if (sampling.top_k < 0) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.top_k: must be >= 0");
}

int32_t Context::admit(std::unique_ptr<Sequence> seq) {
  if ((int32_t)seqs_.size() >= params_.max_sequences)
    throw Error(HKV_ERR_OUT_OF_MEMORY, "no free sequence slot (max_sequences = " + std::to_string(params_.max_sequences) + ")");
  seq->reserve_pages = pages_needed(*seq);
  const int64_t available = pages_.pages_free() - pages_promised();
  if (seq->reserve_pages > available)
    throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: the sequence needs " + std::to_string(seq->reserve_pages) + " pages (" +
                                           std::to_string(seq->reserve_pages * pages_.page_bytes()) + " bytes), only " +
                                           std::to_string(std::max<int64_t>(0, available)) + " of " +
                                           std::to_string(pages_.pages_total()) + " are free");
  // A free slot exists: fewer sequences than max_sequences are admitted.
  seq->slot = (int32_t)(std::find(slot_taken_.begin(), slot_taken_.end(), false) - slot_taken_.begin());
  slot_taken_[seq->slot] = true;
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  seq->id = next_id_++;
  const int32_t id = seq->id;
  seqs_[id] = std::move(seq);
  return id;
}

int32_t Context::fork(int32_t id, const hkv_sampling_params &sampling) {
  const Sequence &src = get(id);
  if (src.state != HKV_SEQ_DECODING)
    throw Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " can be forked only while it is decoding");
  check_sampling(sampling);
  auto seq = std::make_unique<Sequence>();
  seq->state = HKV_SEQ_DECODING;
  seq->prompt = src.prompt;
  seq->generated = src.generated;
  seq->max_new_tokens = std::max<int32_t>(sampling.max_new_tokens, (int32_t)src.generated.size() + 1);
  if (sampling.stop_token_ids && sampling.n_stop_token_ids > 0)
    seq->stop_token_ids.assign(sampling.stop_token_ids, sampling.stop_token_ids + sampling.n_stop_token_ids);
  seq->kv = src.kv;
  seq->head_scores = src.head_scores;
  seq->kv.head_scores = seq->head_scores.empty() ? nullptr : seq->head_scores.data();
  seq->plan = src.plan;
  seq->heads.resize(src.heads.size());
  seq->sampler = std::make_unique<Sampler>(sampling);
  seq->n_past = src.n_past;
  Sequence &copy = *seq;
  const int32_t new_id = admit(std::move(seq));
  if (src.has_logits) {
    backend_->copy_logits(src.slot, copy.slot);
    copy.has_logits = true;
  }
  // Pages are taken after admission, out of the reservation it made.
  for (size_t h = 0; h < src.heads.size(); h++) {
    copy.heads[h].positions = src.heads[h].positions;
    for (int32_t page : src.heads[h].pages) {
      const int32_t dst = pages_.take();
      backend_->copy_page(page, dst);
      copy.heads[h].pages.push_back(dst);
    }
  }
  return new_id;
}

void Context::cancel(int32_t id) {
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw Error(HKV_ERR_NOT_FOUND, "unknown sequence id " + std::to_string(id));
  it->second->cancelled = true;
}

void Context::remove(int32_t id) {
  Sequence &seq = get_mut(id);
  release(seq);
  slot_taken_[seq.slot] = false;
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  seqs_.erase(id);
}

void Context::attach_probe(int32_t id, std::unique_ptr<AttentionProbe> probe) {
  Sequence &seq = get_mut(id);
  if (seq.state != HKV_SEQ_PENDING) throw Error(HKV_ERR_STATE, "a probe must be attached before prefill");
  seq.probe = std::move(probe);
}

void Context::release(Sequence &seq) {
  for (auto &h : seq.heads) release_head(pages_, h);
}

int32_t Context::prefill(int32_t id, hkv_progress_fn progress, void *user) {
  Sequence &seq = get_mut(id);
  if (seq.state != HKV_SEQ_PENDING) throw Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " is already prefilled");
  int32_t token = -1;
  try {
    backend_->prefill(seq, pages_, progress, user);
    seq.has_logits = true;
    std::vector<int32_t> tokens;
    backend_->sample({&seq}, {seq.sampler->next_draw()}, tokens);
    token = tokens[0];
  } catch (const Error &e) {
    // A failed prefill keeps nothing: its pages go back now, the sequence stays until removed.
    release(seq);
    seq.state = HKV_SEQ_FINISHED;
    seq.finish = e.status() == HKV_ERR_CANCELLED ? HKV_FINISH_CANCELLED : HKV_FINISH_NONE;
    throw;
  }
  seq.n_past = (int32_t)seq.prompt.size();
  seq.state = HKV_SEQ_DECODING;
  finish_token(seq, token);
  return token;
}

// Records a sampled token and decides whether the sequence stops there.
void Context::finish_token(Sequence &seq, int32_t token) {
  seq.generated.push_back(token);
  if (seq.probe) seq.probe->on_token(token);
  if (std::find(seq.stop_token_ids.begin(), seq.stop_token_ids.end(), token) != seq.stop_token_ids.end()) {
    seq.state = HKV_SEQ_FINISHED;
    seq.finish = HKV_FINISH_STOP;
  } else if ((int32_t)seq.generated.size() >= seq.max_new_tokens || seq.n_past >= params_.max_context) {
    seq.state = HKV_SEQ_FINISHED;
    seq.finish = HKV_FINISH_LENGTH;
  }
}

int32_t Context::step(hkv_step_token *out, int32_t max_out) {
  std::vector<Sequence *> batch;
  int32_t n_out = 0;
  for (auto &kv : seqs_) {
    Sequence &seq = *kv.second;
    if (seq.state != HKV_SEQ_DECODING) continue;
    if (seq.cancelled) {
      seq.state = HKV_SEQ_FINISHED;
      seq.finish = HKV_FINISH_CANCELLED;
      if (n_out < max_out) out[n_out++] = {seq.id, -1, HKV_FINISH_CANCELLED};
      continue;
    }
    batch.push_back(&seq);
  }
  const int B = (int)batch.size();
  if (B == 0) return n_out;
  if (n_out + B > max_out) throw Error(HKV_ERR_INVALID_ARGUMENT, "step: output array holds " + std::to_string(max_out) +
                                                                    " results, " + std::to_string(n_out + B) + " needed");

  backend_->decode(batch, pages_);
  std::vector<TokenDraw> draws(B);
  for (int b = 0; b < B; b++) {
    batch[b]->n_past++;
    draws[b] = batch[b]->sampler->next_draw();
  }
  std::vector<int32_t> tokens;
  backend_->sample(batch, draws, tokens);
  for (int b = 0; b < B; b++) {
    Sequence &seq = *batch[b];
    finish_token(seq, tokens[b]);
    out[n_out++] = {seq.id, tokens[b], seq.finish};
  }
  return n_out;
}

void Context::read_logits(int32_t id, float *out, int32_t n) const {
  const Sequence &seq = get(id);
  if (!seq.has_logits) throw Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " has no logits before prefill");
  if (n < cfg_.vocab)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "hkv_seq_get_logits: buffer of " + std::to_string(n) + " floats, " +
                                              std::to_string(cfg_.vocab) + " needed");
  backend_->read_logits(seq.slot, out);
}

hkv_seq_info Context::info(int32_t id) const {
  const Sequence &seq = get(id);
  hkv_seq_info info{};
  info.state = seq.state;
  info.finish = seq.finish;
  info.n_prompt = (int32_t)seq.prompt.size();
  info.n_generated = (int32_t)seq.generated.size();
  // The full cache a plain engine would hold: every processed token in every KV head.
  info.kv_bytes_full = (int64_t)seq.n_past * cfg_.n_layers * cfg_.n_kv_heads * token_bytes();
  info.kv_bytes_kept = seq.tokens_kept() * token_bytes();
  info.kv_pages = seq.pages_held();
  return info;
}

hkv_context_stats Context::stats() const {
  hkv_context_stats s{};
  s.page_bytes = pages_.page_bytes();
  s.pages_total = pages_.pages_total();
  s.pages_used = pages_.pages_used();
  s.kv_bytes_held = s.pages_used * s.page_bytes;
  s.active_sequences = (int32_t)seqs_.size();
  s.free_slots = params_.max_sequences - s.active_sequences;
  return s;
}

}  // namespace hkv
