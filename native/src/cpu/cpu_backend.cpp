#include "cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "compress/compress.h"
#include "cpu/attention.h"
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

// Q, K, V of m tokens at the given positions, RoPE applied.
void qkv(ThreadPool &pool, const Config &c, const LayerWeights &lw, const Rope &rope, Activations &a, const float *x,
         int m, const int32_t *positions) {
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

// Cache head h of a sequence reads KV head h / per_kv: one KV head per cache head at kv-head
// granularity, a copy per query head of the group at query-head granularity.
int cache_heads_per_kv_head(const Config &c, const Sequence &seq) { return seq.plan.cache_heads / c.n_kv_heads; }

}  // namespace

int CpuBackend::window_start(const HeadCache &head, int layer, int32_t position) const {
  const int window = cfg_.layer_window(layer);
  if (window <= 0) return 0;
  const int32_t first_visible = position - window + 1;
  return (int)(std::lower_bound(head.positions.begin(), head.positions.end(), first_visible) - head.positions.begin());
}

CpuBackend::CpuBackend(const LoadedModel &model, ThreadPool &pool, int64_t n_pages, int page_tokens, int prefill_chunk,
                       int max_sequences)
    : cfg_(model.config),
      w_(model.weights),
      pool_(pool),
      rope_(model.config.rope, model.config.head_dim),
      page_tokens_(page_tokens),
      prefill_chunk_(prefill_chunk > 0 ? prefill_chunk : kDefaultPrefillChunk),
      kv_(new float[n_pages * 2 * page_tokens * model.config.head_dim]),
      logits_(new float[(size_t)max_sequences * model.config.vocab]) {}

void CpuBackend::sample(const std::vector<Sequence *> &seqs, const std::vector<TokenDraw> &draws,
                        std::vector<int32_t> &tokens) {
  tokens.resize(seqs.size());
  for (size_t i = 0; i < seqs.size(); i++) tokens[i] = pick_token(logits(seqs[i]->slot), cfg_.vocab, draws[i], candidates_);
}

void CpuBackend::read_logits(int32_t slot, float *out) const {
  std::memcpy(out, logits_.get() + (size_t)slot * cfg_.vocab, sizeof(float) * cfg_.vocab);
}

void CpuBackend::copy_logits(int32_t src, int32_t dst) { std::memcpy(logits(dst), logits(src), sizeof(float) * cfg_.vocab); }

void CpuBackend::append(PagePool &pages, HeadCache &head, const float *k, const float *v, int32_t position) {
  const int slot = reserve_slot(pages, head, position);
  if (slot < 0) throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: page pool exhausted");
  const int hd = cfg_.head_dim;
  std::memcpy(keys(head.pages.back()) + (int64_t)slot * hd, k, sizeof(float) * hd);
  std::memcpy(values(head.pages.back()) + (int64_t)slot * hd, v, sizeof(float) * hd);
}

void CpuBackend::copy_page(int32_t src, int32_t dst) {
  std::memcpy(keys(dst), keys(src), sizeof(float) * 2 * page_tokens_ * cfg_.head_dim);
}

void CpuBackend::prefill(Sequence &seq, PagePool &pages, hkv_progress_fn progress, void *user) {
  const Config &c = cfg_;
  const int n = (int)seq.prompt.size();
  // The residual stream of the whole prompt; layers run one after the other over all of it,
  // so only one layer's full K/V exists at a time, and it is compressed before the next layer.
  std::vector<float> x((size_t)n * c.hidden);
  for (int t = 0; t < n; t++)
    std::memcpy(&x[(size_t)t * c.hidden], w_.embed + (int64_t)seq.prompt[t] * c.hidden, sizeof(float) * c.hidden);
  for (int l = 0; l < c.n_layers; l++) {
    if (seq.cancelled) throw Error(HKV_ERR_CANCELLED, "sequence " + std::to_string(seq.id) + " was cancelled during prefill");
    prefill_layer(seq, pages, l, x.data(), n, progress, user);
  }
  std::vector<float> last(c.hidden);
  cpu::rmsnorm(pool_, last.data(), &x[(size_t)(n - 1) * c.hidden], w_.final_norm, 1, c.hidden, c.rms_eps);
  cpu::matmul(pool_, logits(seq.slot), last.data(), w_.lm_head, nullptr, 1, c.vocab, c.hidden);
}

void CpuBackend::prefill_layer(Sequence &seq, PagePool &pages, int layer, float *x, int n, hkv_progress_fn progress,
                               void *user) {
  const Config &c = cfg_;
  const LayerWeights &lw = w_.layers[layer];
  const int chunk = prefill_chunk_;
  const int hd = c.head_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim(), group = c.group();
  const float scale = 1.0f / std::sqrt((float)hd);
  const int window = seq.plan.compress ? seq.plan.window : 0;
  const int sliding_window = c.layer_window(layer);

  std::vector<float> keys((size_t)n * kv_dim), values((size_t)n * kv_dim);  // [n][kv_dim]: this layer's full K/V
  std::vector<float> q_window((size_t)window * q_dim);                       // [window][n_heads][head_dim]
  Activations a(c, std::min(chunk, n));
  std::vector<int32_t> positions(chunk);
  // The last layer's output is read only at the prompt's last token (the logits): every other
  // row needs its keys, values and window queries, not its attention or MLP.
  const bool last_layer = layer == c.n_layers - 1;

  for (int c0 = 0; c0 < n; c0 += chunk) {
    const int m = std::min(chunk, n - c0);
    float *xc = x + (int64_t)c0 * c.hidden;
    for (int t = 0; t < m; t++) positions[t] = c0 + t;
    qkv(pool_, c, lw, rope_, a, xc, m, positions.data());
    std::memcpy(&keys[(size_t)c0 * kv_dim], a.k.data(), sizeof(float) * m * kv_dim);
    std::memcpy(&values[(size_t)c0 * kv_dim], a.v.data(), sizeof(float) * m * kv_dim);
    for (int t = 0; t < m; t++) {
      const int p = c0 + t;
      if (p >= n - window)
        std::memcpy(&q_window[(size_t)(p - (n - window)) * q_dim], &a.q[(size_t)t * q_dim], sizeof(float) * q_dim);
    }
    if (last_layer && c0 + m < n) {
      if (progress) progress(user, (int64_t)layer * n + c0 + m, (int64_t)c.n_layers * n);
      continue;
    }
    const int first = last_layer ? m - 1 : 0;  // the chunk's first row that needs attention
    // Causal attention of the chunk's queries over keys [0, own position] (with a sliding
    // window W: (own position - W, own position]), in tiles of consecutive positions of every
    // query head of one KV group (heads_per_tile of them), so each key and value block is read
    // once for the whole group.
    const int heads_per_tile = std::min(group, cpu::kAttentionRows);
    const int tile_positions = cpu::kAttentionRows / heads_per_tile;
    const int head_tiles = (group + heads_per_tile - 1) / heads_per_tile;
    const int tiles = (m - first + tile_positions - 1) / tile_positions;
    const int64_t tiles_per_step = (int64_t)c.n_kv_heads * head_tiles;
    pool_.parallel_for((int64_t)tiles * tiles_per_step, 1, [&](int64_t i0, int64_t i1) {
      std::vector<float> scratch;
      const float *q[cpu::kAttentionRows];
      float *out[cpu::kAttentionRows];
      int lens[cpu::kAttentionRows], starts[cpu::kAttentionRows];
      for (int64_t i = i0; i < i1; i++) {
        const int g = (int)(i % tiles_per_step) / head_tiles;
        const int h0 = g * group + (int)(i % tiles_per_step) % head_tiles * heads_per_tile;
        const int heads = std::min(heads_per_tile, (g + 1) * group - h0);
        const int t0 = first + (int)(i / tiles_per_step) * tile_positions;
        const int positions_here = std::min(tile_positions, m - t0);
        int rows = 0;
        for (int t = t0; t < t0 + positions_here; t++)
          for (int h = h0; h < h0 + heads; h++, rows++) {
            q[rows] = &a.q[(size_t)t * q_dim + (size_t)h * hd];
            out[rows] = &a.att[(size_t)t * q_dim + (size_t)h * hd];
            lens[rows] = c0 + t + 1;
            starts[rows] = sliding_window > 0 ? std::max(0, c0 + t + 1 - sliding_window) : 0;
          }
        cpu::attend_rows(q, rows, sliding_window > 0 ? starts : nullptr, lens, &keys[(size_t)g * hd],
                         &values[(size_t)g * hd], kv_dim, hd, scale, out, scratch);
      }
    });
    float *x_rows = xc + (int64_t)first * c.hidden;
    cpu::matmul(pool_, a.proj.data(), &a.att[(size_t)first * q_dim], lw.wo, nullptr, m - first, c.hidden, q_dim);
    add_inplace(x_rows, a.proj.data(), (int64_t)(m - first) * c.hidden);
    mlp(pool_, c, lw, a, x_rows, m - first);
    if (progress) progress(user, (int64_t)layer * n + c0 + m, (int64_t)c.n_layers * n);
  }
  store_layer(seq, pages, layer, keys.data(), values.data(), n, q_window);
}

// Writes one layer's kept tokens into the sequence's pages: every prompt token for an
// uncompressed sequence, else each head's selected prefix positions plus the window.
void CpuBackend::store_layer(Sequence &seq, PagePool &pages, int layer, const float *keys, const float *values, int n,
                             const std::vector<float> &q_window) {
  const int ch = seq.plan.cache_heads;
  const int hd = cfg_.head_dim, kv_dim = cfg_.kv_dim();
  const int per_kv = cache_heads_per_kv_head(cfg_, seq);
  std::vector<std::vector<int32_t>> kept(ch);
  if (seq.plan.compress) {
    std::vector<float> pooled;
    Config layer_cfg = cfg_;  // window_scores applies cfg.sliding_window: this layer's
    layer_cfg.sliding_window = cfg_.layer_window(layer);
    window_scores(layer_cfg, seq.kv, q_window.data(), keys, n, pooled);
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
      append(pages, head, keys + (int64_t)p * kv_dim + (int64_t)g * hd, values + (int64_t)p * kv_dim + (int64_t)g * hd, p);
  }
}

void CpuBackend::decode(const std::vector<Sequence *> &batch, PagePool &pages) {
  const Config &c = cfg_;
  const int B = (int)batch.size();
  const int hd = c.head_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt((float)hd);
  std::vector<float> x((size_t)B * c.hidden);  // [B][hidden] residual stream of the batch
  std::vector<int32_t> positions(B);
  for (int b = 0; b < B; b++) {
    std::memcpy(&x[(size_t)b * c.hidden], w_.embed + (int64_t)batch[b]->generated.back() * c.hidden, sizeof(float) * c.hidden);
    positions[b] = batch[b]->n_past;
  }
  Activations a(c, B);
  // Attention weights of probed sequences, [n_heads] rows of the head's length each, reported
  // to their probes after each layer (probes are not thread-safe).
  std::vector<std::vector<float>> probe_probs(B);
  std::vector<std::vector<size_t>> probe_offsets(B);

  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights &lw = w_.layers[l];
    qkv(pool_, c, lw, rope_, a, x.data(), B, positions.data());
    for (int b = 0; b < B; b++) {
      Sequence &seq = *batch[b];
      const int ch = seq.plan.cache_heads, per_kv = cache_heads_per_kv_head(c, seq);
      for (int h = 0; h < ch; h++) {
        const int g = h / per_kv;
        append(pages, seq.heads[(size_t)l * ch + h], &a.k[(size_t)b * kv_dim + (size_t)g * hd],
               &a.v[(size_t)b * kv_dim + (size_t)g * hd], positions[b]);
      }
      if (seq.probe) {
        probe_offsets[b].assign(c.n_heads + 1, 0);
        for (int h = 0; h < c.n_heads; h++)
          probe_offsets[b][h + 1] = probe_offsets[b][h] + seq.heads[(size_t)l * ch + h / (c.n_heads / ch)].len();
        probe_probs[b].assign(probe_offsets[b][c.n_heads], 0.f);
      }
    }
    // Each (sequence, query head) walks its cache head's pages: ragged lengths, no copy. With
    // a sliding window W the query at position p attends the kept tokens at positions > p - W
    // (positions ascend, so they are a suffix of the cache); older kept tokens get no weight.
    pool_.parallel_for((int64_t)B * c.n_heads, 1, [&](int64_t i0, int64_t i1) {
      std::vector<float> scores;
      for (int64_t i = i0; i < i1; i++) {
        const int b = (int)(i / c.n_heads), h = (int)(i % c.n_heads);
        Sequence &seq = *batch[b];
        const int ch = seq.plan.cache_heads;
        const HeadCache &head = seq.heads[(size_t)l * ch + h / (c.n_heads / ch)];
        const int len = head.len(), pt = page_tokens_;
        const int start = window_start(head, l, positions[b]);
        const float *q = &a.q[(size_t)b * q_dim + (size_t)h * hd];
        scores.resize(len);
        std::fill(scores.begin(), scores.begin() + start, 0.f);  // the probe sees zero weight there
        for (int j = start; j < len; j++)
          scores[j] = cpu::dot(q, keys(head.pages[j / pt]) + (size_t)(j % pt) * hd, hd) * scale;
        cpu::softmax(scores.data() + start, len - start);
        float *o = &a.att[(size_t)b * q_dim + (size_t)h * hd];
        std::fill(o, o + hd, 0.f);
        for (int j = start; j < len; j++)
          cpu::axpy(scores[j], values(head.pages[j / pt]) + (size_t)(j % pt) * hd, o, hd);
        if (seq.probe) std::copy(scores.begin(), scores.end(), probe_probs[b].begin() + probe_offsets[b][h]);
      }
    });
    for (int b = 0; b < B; b++) {
      Sequence &seq = *batch[b];
      if (!seq.probe) continue;
      const int ch = seq.plan.cache_heads;
      for (int h = 0; h < c.n_heads; h++) {
        const HeadCache &head = seq.heads[(size_t)l * ch + h / (c.n_heads / ch)];
        seq.probe->on_attention(l, h, &probe_probs[b][probe_offsets[b][h]], head.positions.data(), head.len());
      }
    }
    cpu::matmul(pool_, a.proj.data(), a.att.data(), lw.wo, nullptr, B, c.hidden, q_dim);
    add_inplace(x.data(), a.proj.data(), (int64_t)B * c.hidden);
    mlp(pool_, c, lw, a, x.data(), B);
  }

  std::vector<float> xn((size_t)B * c.hidden), rows((size_t)B * c.vocab);
  cpu::rmsnorm(pool_, xn.data(), x.data(), w_.final_norm, B, c.hidden, c.rms_eps);
  cpu::matmul(pool_, rows.data(), xn.data(), w_.lm_head, nullptr, B, c.vocab, c.hidden);
  for (int b = 0; b < B; b++)
    std::memcpy(logits(batch[b]->slot), &rows[(size_t)b * c.vocab], sizeof(float) * c.vocab);
}

}  // namespace hkv
