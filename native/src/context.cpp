#include "context.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cpu/ops.h"
#include "error.h"

namespace hkv {

namespace {

// Activations of one forward pass over m tokens (a prefill chunk or a decode batch).
struct Activations {
  std::vector<float> xn;    // [m][hidden]       normalised input of a sub-layer
  std::vector<float> q;     // [m][q_dim]        queries (after RoPE)
  std::vector<float> k;     // [m][kv_dim]       keys (after RoPE)
  std::vector<float> v;     // [m][kv_dim]       values
  std::vector<float> att;   // [m][q_dim]        attention output, heads concatenated
  std::vector<float> proj;  // [m][hidden]       output projection of attention or MLP
  std::vector<float> gate;  // [m][intermediate] gate_proj, then silu(gate) * up
  std::vector<float> up;    // [m][intermediate] up_proj

  Activations(const Config &c, int m)
      : xn((size_t)m * c.hidden), q((size_t)m * c.q_dim()), k((size_t)m * c.kv_dim()), v((size_t)m * c.kv_dim()),
        att((size_t)m * c.q_dim()), proj((size_t)m * c.hidden), gate((size_t)m * c.intermediate),
        up((size_t)m * c.intermediate) {}
};

void add_inplace(float *x, const float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

// The MLP sub-layer with its residual: x[m] += down(silu(gate(norm(x))) * up(norm(x))).
void mlp(ThreadPool &pool, const Config &c, const LayerWeights &lw, Activations &a, float *x, int m) {
  cpu::rmsnorm(pool, a.xn.data(), x, lw.ffn_norm, m, c.hidden, c.rms_eps);
  cpu::matmul(pool, a.gate.data(), a.xn.data(), lw.w_gate, nullptr, m, c.intermediate, c.hidden);
  cpu::matmul(pool, a.up.data(), a.xn.data(), lw.w_up, nullptr, m, c.intermediate, c.hidden);
  cpu::silu_mul(pool, a.gate.data(), a.up.data(), (int64_t)m * c.intermediate);
  cpu::matmul(pool, a.proj.data(), a.gate.data(), lw.w_down, nullptr, m, c.hidden, c.intermediate);
  add_inplace(x, a.proj.data(), (int64_t)m * c.hidden);
}

// Q, K, V of m tokens at positions pos0.. (or per-token positions), RoPE applied.
void qkv(ThreadPool &pool, const Config &c, const LayerWeights &lw, const Rope &rope, Activations &a,
         const float *x, int m, const int32_t *positions) {
  cpu::rmsnorm(pool, a.xn.data(), x, lw.attn_norm, m, c.hidden, c.rms_eps);
  cpu::matmul(pool, a.q.data(), a.xn.data(), lw.wq, lw.bq, m, c.q_dim(), c.hidden);
  cpu::matmul(pool, a.k.data(), a.xn.data(), lw.wk, lw.bk, m, c.kv_dim(), c.hidden);
  cpu::matmul(pool, a.v.data(), a.xn.data(), lw.wv, lw.bv, m, c.kv_dim(), c.hidden);
  pool.parallel_for(m, 8, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      rope.apply(a.q.data() + t * c.q_dim(), c.n_heads, positions[t]);
      rope.apply(a.k.data() + t * c.kv_dim(), c.n_kv_heads, positions[t]);
    }
  });
}

}  // namespace

Context::Context(const LoadedModel &model, ThreadPool &pool, const hkv_context_params &params)
    : cfg_(model.config),
      w_(model.weights),
      pool_(pool),
      params_(params),
      rope_(model.config.rope, model.config.head_dim),
      pages_(params.kv_cache_bytes / (int64_t(2) * params.page_tokens * model.config.head_dim * (int64_t)sizeof(float)),
             params.page_tokens, model.config.head_dim) {
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
  if (sampling.max_new_tokens < 1) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.max_new_tokens: must be >= 1");
  if (!(sampling.temperature >= 0.f)) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.temperature: must be >= 0");
  if (!(sampling.top_p > 0.f && sampling.top_p <= 1.f))
    throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.top_p: must be in (0, 1]");
  if (sampling.top_k < 0) throw Error(HKV_ERR_INVALID_ARGUMENT, "sampling.top_k: must be >= 0");
  if ((int32_t)seqs_.size() >= params_.max_sequences)
    throw Error(HKV_ERR_OUT_OF_MEMORY, "no free sequence slot (max_sequences = " + std::to_string(params_.max_sequences) + ")");

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
  seq->reserve_pages = pages_needed(*seq);
  const int64_t available = pages_.pages_free() - pages_promised();
  if (seq->reserve_pages > available)
    throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: the sequence needs " + std::to_string(seq->reserve_pages) + " pages (" +
                                           std::to_string(seq->reserve_pages * pages_.page_bytes()) + " bytes), only " +
                                           std::to_string(std::max<int64_t>(0, available)) + " of " +
                                           std::to_string(pages_.pages_total()) + " are free");
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  seq->id = next_id_++;
  const int32_t id = seq->id;
  seqs_[id] = std::move(seq);
  return id;
}

void Context::cancel(int32_t id) {
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  auto it = seqs_.find(id);
  if (it == seqs_.end()) throw Error(HKV_ERR_NOT_FOUND, "unknown sequence id " + std::to_string(id));
  it->second->cancelled = true;
}

void Context::remove(int32_t id) {
  Sequence &seq = get_mut(id);
  for (auto &h : seq.heads) release_head(pages_, h);
  std::lock_guard<std::mutex> lock(seqs_mutex_);
  seqs_.erase(id);
}

void Context::attach_probe(int32_t id, std::unique_ptr<AttentionProbe> probe) {
  Sequence &seq = get_mut(id);
  if (seq.state != HKV_SEQ_PENDING) throw Error(HKV_ERR_STATE, "a probe must be attached before prefill");
  seq.probe = std::move(probe);
}

// Writes one layer's kept tokens into the sequence's pages: every prompt token for an
// uncompressed sequence, else each head's selected prefix positions plus the window.
void Context::store_layer(Sequence &seq, int layer, const float *keys, const float *values, int n,
                          const std::vector<float> &q_window) {
  const int ch = seq.plan.cache_heads;
  const int hd = cfg_.head_dim, kv_dim = cfg_.kv_dim();
  const int per_kv = ch / cfg_.n_kv_heads;  // 1 (kv-head granularity) or group (query-head)
  std::vector<std::vector<int32_t>> kept(ch);
  if (seq.plan.compress) {
    std::vector<float> pooled;
    window_scores(cfg_, seq.kv, q_window.data(), keys, n, pooled);
    kept = select_positions(cfg_, seq.kv, seq.plan, layer, pooled, n);
    for (auto &positions : kept)
      for (int p = n - seq.plan.window; p < n; p++) positions.push_back(p);
  } else {
    for (auto &positions : kept) {
      positions.resize(n);
      for (int p = 0; p < n; p++) positions[p] = p;
    }
  }
  for (int h = 0; h < ch; h++) {
    const int g = h / per_kv;
    HeadCache &head = seq.heads[(size_t)layer * ch + h];
    head.positions.reserve(kept[h].size() + seq.max_new_tokens);
    for (int32_t p : kept[h])
      if (!append_token(pages_, head, keys + (int64_t)p * kv_dim + (int64_t)g * hd, values + (int64_t)p * kv_dim + (int64_t)g * hd, p))
        throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: page pool exhausted while storing the prompt");
  }
}

int32_t Context::prefill(int32_t id, hkv_progress_fn progress, void *user) {
  Sequence &seq = get_mut(id);
  if (seq.state != HKV_SEQ_PENDING) throw Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " is already prefilled");
  const int n = (int)seq.prompt.size();
  const Config &c = cfg_;

  // The residual stream of the whole prompt; layers run one after the other over all of it,
  // so only one layer's full K/V exists at a time, and it is compressed before the next layer.
  std::vector<float> x((size_t)n * c.hidden);
  for (int t = 0; t < n; t++)
    std::memcpy(&x[(size_t)t * c.hidden], w_.embed + (int64_t)seq.prompt[t] * c.hidden, sizeof(float) * c.hidden);
  for (int l = 0; l < c.n_layers; l++) {
    if (seq.cancelled) {
      for (auto &h : seq.heads) release_head(pages_, h);
      seq.state = HKV_SEQ_FINISHED;
      seq.finish = HKV_FINISH_CANCELLED;
      throw Error(HKV_ERR_CANCELLED, "sequence " + std::to_string(id) + " was cancelled during prefill");
    }
    prefill_layer(seq, l, x.data(), n, progress, user);
  }
  seq.n_past = n;
  std::vector<float> last(c.hidden);
  cpu::rmsnorm(pool_, last.data(), &x[(size_t)(n - 1) * c.hidden], w_.final_norm, 1, c.hidden, c.rms_eps);
  seq.logits.resize(c.vocab);
  cpu::matmul(pool_, seq.logits.data(), last.data(), w_.lm_head, nullptr, 1, c.vocab, c.hidden);
  seq.state = HKV_SEQ_DECODING;
  const int32_t token = seq.sampler->sample(seq.logits.data(), c.vocab);
  finish_token(seq, token);
  return token;
}

void Context::prefill_layer(Sequence &seq, int layer, float *x, int n, hkv_progress_fn progress, void *user) {
  const Config &c = cfg_;
  const LayerWeights &lw = w_.layers[layer];
  const int chunk = std::max(1, params_.prefill_chunk);
  const int hd = c.head_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), group = c.group();
  const float scale = 1.0f / std::sqrt((float)hd);
  const int window = seq.plan.compress ? seq.plan.window : 0;

  std::vector<float> keys((size_t)n * kv_dim), values((size_t)n * kv_dim);  // [n][kv_dim]: this layer's full K/V
  std::vector<float> q_window((size_t)window * q_dim);                       // [window][n_heads][head_dim]
  Activations a(c, std::min(chunk, n));
  std::vector<int32_t> positions(chunk);

  for (int c0 = 0; c0 < n; c0 += chunk) {
    const int m = std::min(chunk, n - c0);
    float *xc = x + (int64_t)c0 * c.hidden;
    for (int t = 0; t < m; t++) positions[t] = c0 + t;
    qkv(pool_, c, lw, rope_, a, xc, m, positions.data());
    std::memcpy(&keys[(size_t)c0 * kv_dim], a.k.data(), sizeof(float) * m * kv_dim);
    std::memcpy(&values[(size_t)c0 * kv_dim], a.v.data(), sizeof(float) * m * kv_dim);
    for (int t = 0; t < m; t++) {
      const int p = c0 + t;
      if (p >= n - window) std::memcpy(&q_window[(size_t)(p - (n - window)) * q_dim], &a.q[(size_t)t * q_dim], sizeof(float) * q_dim);
    }
    // Causal attention of the chunk's queries over keys [0, own position].
    pool_.parallel_for((int64_t)m * c.n_heads, 4, [&](int64_t i0, int64_t i1) {
      std::vector<float> scores(c0 + m);
      for (int64_t i = i0; i < i1; i++) {
        const int t = (int)(i / c.n_heads), h = (int)(i % c.n_heads), g = h / group;
        const int len = c0 + t + 1;
        const float *q = &a.q[(size_t)t * q_dim + (size_t)h * hd];
        for (int j = 0; j < len; j++) scores[j] = cpu::dot(q, &keys[(size_t)j * kv_dim + (size_t)g * hd], hd) * scale;
        cpu::softmax(scores.data(), len);
        float *out = &a.att[(size_t)t * q_dim + (size_t)h * hd];
        std::fill(out, out + hd, 0.f);
        for (int j = 0; j < len; j++) cpu::axpy(scores[j], &values[(size_t)j * kv_dim + (size_t)g * hd], out, hd);
      }
    });
    cpu::matmul(pool_, a.proj.data(), a.att.data(), lw.wo, nullptr, m, c.hidden, q_dim);
    add_inplace(xc, a.proj.data(), (int64_t)m * c.hidden);
    mlp(pool_, c, lw, a, xc, m);
    if (progress) progress(user, (int64_t)layer * n + c0 + m, (int64_t)c.n_layers * n);
  }
  store_layer(seq, layer, keys.data(), values.data(), n, q_window);
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
  const Config &c = cfg_;
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

  const int hd = c.head_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt((float)hd);
  std::vector<float> x((size_t)B * c.hidden);  // [B][hidden] residual stream of the batch
  std::vector<int32_t> positions(B);
  for (int b = 0; b < B; b++) {
    std::memcpy(&x[(size_t)b * c.hidden], w_.embed + (int64_t)batch[b]->generated.back() * c.hidden, sizeof(float) * c.hidden);
    positions[b] = batch[b]->n_past;
  }
  Activations a(c, B);
  // Attention weights of probed sequences, reported to their probes after each layer.
  std::vector<std::vector<float>> probe_probs(B);

  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights &lw = w_.layers[l];
    qkv(pool_, c, lw, rope_, a, x.data(), B, positions.data());
    for (int b = 0; b < B; b++) {
      Sequence &seq = *batch[b];
      const int ch = seq.plan.cache_heads, per_kv = ch / c.n_kv_heads;
      for (int h = 0; h < ch; h++) {
        const int g = h / per_kv;
        if (!append_token(pages_, seq.heads[(size_t)l * ch + h], &a.k[(size_t)b * kv_dim + (size_t)g * hd],
                          &a.v[(size_t)b * kv_dim + (size_t)g * hd], positions[b]))
          throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: page pool exhausted during decode");
      }
      if (seq.probe) {
        size_t total = 0;
        for (int h = 0; h < c.n_heads; h++) total += seq.heads[(size_t)l * ch + h / (c.n_heads / ch)].len();
        probe_probs[b].assign(total, 0.f);
      }
    }
    // Each (sequence, query head) walks its cache head's pages: ragged lengths, no copy.
    pool_.parallel_for((int64_t)B * c.n_heads, 1, [&](int64_t i0, int64_t i1) {
      std::vector<float> scores;
      for (int64_t i = i0; i < i1; i++) {
        const int b = (int)(i / c.n_heads), h = (int)(i % c.n_heads);
        Sequence &seq = *batch[b];
        const int ch = seq.plan.cache_heads;
        const int cache_head = h / (c.n_heads / ch);
        const HeadCache &head = seq.heads[(size_t)l * ch + cache_head];
        const int len = head.len(), pt = pages_.page_tokens();
        const float *q = &a.q[(size_t)b * q_dim + (size_t)h * hd];
        scores.resize(len);
        for (int j = 0; j < len; j++)
          scores[j] = cpu::dot(q, pages_.keys(head.pages[j / pt]) + (size_t)(j % pt) * hd, hd) * scale;
        cpu::softmax(scores.data(), len);
        float *o = &a.att[(size_t)b * q_dim + (size_t)h * hd];
        std::fill(o, o + hd, 0.f);
        for (int j = 0; j < len; j++) cpu::axpy(scores[j], pages_.values(head.pages[j / pt]) + (size_t)(j % pt) * hd, o, hd);
        if (seq.probe) {
          size_t offset = 0;
          for (int hh = 0; hh < h; hh++) offset += seq.heads[(size_t)l * ch + hh / (c.n_heads / ch)].len();
          std::copy(scores.begin(), scores.end(), probe_probs[b].begin() + offset);
        }
      }
    });
    for (int b = 0; b < B; b++) {
      Sequence &seq = *batch[b];
      if (!seq.probe) continue;
      const int ch = seq.plan.cache_heads;
      size_t offset = 0;
      for (int h = 0; h < c.n_heads; h++) {
        const HeadCache &head = seq.heads[(size_t)l * ch + h / (c.n_heads / ch)];
        seq.probe->on_attention(l, h, &probe_probs[b][offset], head.positions.data(), head.len());
        offset += head.len();
      }
    }
    cpu::matmul(pool_, a.proj.data(), a.att.data(), lw.wo, nullptr, B, c.hidden, q_dim);
    add_inplace(x.data(), a.proj.data(), (int64_t)B * c.hidden);
    mlp(pool_, c, lw, a, x.data(), B);
  }

  std::vector<float> xn((size_t)B * c.hidden), logits((size_t)B * c.vocab);
  cpu::rmsnorm(pool_, xn.data(), x.data(), w_.final_norm, B, c.hidden, c.rms_eps);
  cpu::matmul(pool_, logits.data(), xn.data(), w_.lm_head, nullptr, B, c.vocab, c.hidden);
  for (int b = 0; b < B; b++) {
    Sequence &seq = *batch[b];
    seq.n_past++;
    seq.logits.assign(logits.begin() + (size_t)b * c.vocab, logits.begin() + (size_t)(b + 1) * c.vocab);
    const int32_t token = seq.sampler->sample(seq.logits.data(), c.vocab);
    finish_token(seq, token);
    out[n_out++] = {seq.id, token, seq.finish};
  }
  return n_out;
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
