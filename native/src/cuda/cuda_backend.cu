#include "cuda/cuda_backend.cuh"

#include <algorithm>
#include <string>

#include "cuda/attention.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/ops.cuh"
#include "error.h"

namespace hkv::cuda {

namespace {

// Cache head h of a sequence reads KV head h / per_kv (as the CPU backend).
int cache_heads_per_kv_head(const Config &c, const Sequence &seq) { return seq.plan.cache_heads / c.n_kv_heads; }

[[noreturn]] void pool_exhausted() { throw Error(HKV_ERR_OUT_OF_MEMORY, "KV cache: page pool exhausted"); }

// The CUDA kernels attend every earlier token: exact only while no query is sliding_window or
// more positions past a key. A sequence that could go further is refused, not silently wrong.
void check_sliding_window(const Config &c, const Sequence &seq, int64_t tokens, const char *counted) {
  if (c.sliding_window <= 0 || tokens <= c.sliding_window) return;
  throw Error(HKV_ERR_UNSUPPORTED, "sequence " + std::to_string(seq.id) + ": " + std::to_string(tokens) + " tokens (" +
                                       counted + ") exceed the model's sliding_window of " +
                                       std::to_string(c.sliding_window) +
                                       ", which the CUDA backend does not apply; use the CPU backend");
}

}  // namespace

void CudaBackend::copy_page(int32_t src, int32_t dst) {
  const int64_t bytes = page_bytes(cfg_, page_tokens_);
  char *base = pages_.as<char>();
  check(cudaMemcpyAsync(base + dst * bytes, base + src * bytes, bytes, cudaMemcpyDeviceToDevice, stream_),
        "copying a KV page");
}

void CudaBackend::Activations::grow(const Config &c, int m) {
  const size_t b = 2;  // bf16
  xn.grow(b * m * c.hidden, "activations");
  qkv.grow(b * m * (c.q_dim() + 2 * c.kv_dim()), "activations");
  q.grow(b * m * c.q_dim(), "activations");
  att.grow(b * m * c.q_dim(), "activations");
  gu.grow(b * m * 2 * (size_t)c.intermediate, "activations");
  mid.grow(b * m * (size_t)c.intermediate, "activations");
}

CudaBackend::CudaBackend(const Config &cfg, const DeviceWeights &weights, int device, int64_t n_pages, int page_tokens,
                         int prefill_chunk, int max_sequences)
    : cfg_(cfg), w_(weights), device_(device), page_tokens_(page_tokens), prefill_chunk_(prefill_chunk > 0 ? prefill_chunk : kDefaultPrefillChunk) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  try {
    blas_ = std::make_unique<Blas>(stream_);
    pages_.grow((size_t)n_pages * page_bytes(cfg, page_tokens), "the KV page pool");
    slot_logits_.grow(sizeof(float) * max_sequences * (size_t)cfg.vocab, "the sequences' logits");
  } catch (...) {
    blas_.reset();
    cudaStreamDestroy(stream_);
    throw;
  }
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  blas_.reset();
  cudaStreamDestroy(stream_);
}

void CudaBackend::attention_input(const DeviceLayer &lw, const float *x, int m) {
  const Config &c = cfg_;
  rmsnorm(act_.xn.as<bf16>(), x, lw.attn_norm, m, c.hidden, c.rms_eps, stream_);
  blas_->gemm_bf16(act_.xn.as<bf16>(), lw.wqkv, act_.qkv.as<bf16>(), false, 0.f, m, c.q_dim() + 2 * c.kv_dim(), c.hidden);
}

void CudaBackend::attention_output_and_mlp(const DeviceLayer &lw, float *x, int m) {
  const Config &c = cfg_;
  blas_->gemm_bf16(act_.att.as<bf16>(), lw.wo, x, true, 1.f, m, c.hidden, c.q_dim());  // x += o_proj(att)
  rmsnorm(act_.xn.as<bf16>(), x, lw.ffn_norm, m, c.hidden, c.rms_eps, stream_);
  blas_->gemm_bf16(act_.xn.as<bf16>(), lw.wgu, act_.gu.as<bf16>(), false, 0.f, m, 2 * c.intermediate, c.hidden);
  silu_mul(act_.mid.as<bf16>(), act_.gu.as<bf16>(), m, c.intermediate, stream_);
  blas_->gemm_bf16(act_.mid.as<bf16>(), lw.wdown, x, true, 1.f, m, c.hidden, c.intermediate);  // x += down(...)
}

void CudaBackend::prefill(Sequence &seq, PagePool &pages, hkv_progress_fn progress, void *user) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  const Config &c = cfg_;
  const int n = (int)seq.prompt.size();
  check_sliding_window(c, seq, (int64_t)n + seq.max_new_tokens, "prompt + max_new_tokens");
  const int chunk = std::min(prefill_chunk_, n);
  const int kv_dim = c.kv_dim();
  const int window = seq.plan.compress ? seq.plan.window : 0;
  // The residual stream of the whole prompt; layers run one after the other over all of it,
  // so only one layer's full K/V exists at a time, and it is compressed before the next layer.
  residual_.grow(sizeof(float) * n * (size_t)c.hidden, "the prefill residual stream");
  keys_.grow(sizeof(bf16) * n * (size_t)kv_dim, "the layer's keys");
  values_.grow(sizeof(bf16) * n * (size_t)kv_dim, "the layer's values");
  if (window > 0) q_window_.grow(sizeof(float) * window * (size_t)c.q_dim(), "the window queries");
  act_.grow(c, chunk);
  ints_.grow(sizeof(int32_t) * n, "the prompt");
  check(cudaMemcpyAsync(ints_.as<int32_t>(), seq.prompt.data(), sizeof(int32_t) * n, cudaMemcpyHostToDevice, stream_),
        "prompt upload");
  float *x = residual_.as<float>();
  embed(x, w_.embed, ints_.as<int32_t>(), n, c.hidden, stream_);

  for (int l = 0; l < c.n_layers; l++) {
    if (seq.cancelled) throw Error(HKV_ERR_CANCELLED, "sequence " + std::to_string(seq.id) + " was cancelled during prefill");
    const DeviceLayer &lw = w_.layers[l];
    // The last layer's output is read only at the prompt's last token (the logits): every other
    // row needs its keys, values and window queries, not its attention or MLP.
    const bool last_layer = l == c.n_layers - 1;
    for (int c0 = 0; c0 < n; c0 += chunk) {
      const int m = std::min(chunk, n - c0);
      float *xc = x + (int64_t)c0 * c.hidden;
      attention_input(lw, xc, m);
      QkvSplit split{act_.qkv.as<bf16>(), lw.bqkv, w_.inv_freq, nullptr, c0, m, c.n_heads, c.n_kv_heads, c.head_dim,
                     act_.q.as<bf16>(), keys_.as<bf16>() + (int64_t)c0 * kv_dim, values_.as<bf16>() + (int64_t)c0 * kv_dim,
                     window > 0 ? q_window_.as<float>() : nullptr, n - window};
      split_qkv_rope(split, stream_);
      if (!last_layer) {
        flash_prefill(act_.q.as<bf16>(), keys_.as<bf16>(), values_.as<bf16>(), act_.att.as<bf16>(), m, c0, c.n_heads,
                      c.n_kv_heads, c.head_dim, stream_);
        attention_output_and_mlp(lw, xc, m);
      } else if (c0 + m == n) {
        flash_prefill(act_.q.as<bf16>() + (int64_t)(m - 1) * c.q_dim(), keys_.as<bf16>(), values_.as<bf16>(),
                      act_.att.as<bf16>(), 1, n - 1, c.n_heads, c.n_kv_heads, c.head_dim, stream_);
        attention_output_and_mlp(lw, x + (int64_t)(n - 1) * c.hidden, 1);
      }
      if (progress) progress(user, (int64_t)l * n + c0 + m, (int64_t)c.n_layers * n);
    }
    store_layer(seq, pages, l, n);
  }

  rmsnorm(act_.xn.as<bf16>(), x + (int64_t)(n - 1) * c.hidden, w_.final_norm, 1, c.hidden, c.rms_eps, stream_);
  blas_->gemm_bf16(act_.xn.as<bf16>(), w_.lm_head, slot_logits(seq.slot), true, 0.f, 1, c.vocab, c.hidden);
  check(cudaStreamSynchronize(stream_), "prefill");
}

// Writes one layer's kept tokens into the sequence's pages: every prompt token for an
// uncompressed sequence, else each head's selected prefix positions plus the window.
void CudaBackend::store_layer(Sequence &seq, PagePool &pages, int layer, int n) {
  const int ch = seq.plan.cache_heads, hd = cfg_.head_dim;
  const int per_kv = cache_heads_per_kv_head(cfg_, seq);
  std::vector<std::vector<int32_t>> kept(ch);
  if (seq.plan.compress) {
    const float *pooled = selector_.window_scores(cfg_, seq.kv, q_window_.as<float>(), keys_.as<bf16>(), n, stream_);
    kept = selector_.select(cfg_, seq.kv, seq.plan, layer, pooled, n, stream_);
    for (auto &positions : kept)
      for (int p = n - seq.plan.window; p < n; p++) positions.push_back(p);
  } else {
    for (auto &positions : kept) {
      positions.resize(n);
      for (int p = 0; p < n; p++) positions[p] = p;
    }
  }
  std::vector<int32_t> rows, heads;
  std::vector<int64_t> dst;
  for (int h = 0; h < ch; h++) {
    HeadCache &head = seq.heads[(size_t)layer * ch + h];
    head.positions.reserve(kept[h].size() + seq.max_new_tokens);
    for (int32_t p : kept[h]) {
      const int slot = reserve_slot(pages, head, p);
      if (slot < 0) pool_exhausted();
      rows.push_back(p);
      heads.push_back(h / per_kv);
      dst.push_back(((int64_t)head.pages.back() * 2 * page_tokens_ + slot) * hd);
    }
  }
  scatter(rows, heads, dst, keys_.as<bf16>(), values_.as<bf16>());
}

void CudaBackend::scatter(const std::vector<int32_t> &rows, const std::vector<int32_t> &heads,
                          const std::vector<int64_t> &dst, const bf16 *k, const bf16 *v) {
  const size_t e = rows.size();
  if (e == 0) return;
  ints_.grow(sizeof(int32_t) * 2 * e, "the cache writes");
  longs_.grow(sizeof(int64_t) * e, "the cache writes");
  int32_t *d_rows = ints_.as<int32_t>(), *d_heads = d_rows + e;
  check(cudaMemcpyAsync(d_rows, rows.data(), sizeof(int32_t) * e, cudaMemcpyHostToDevice, stream_), "cache write upload");
  check(cudaMemcpyAsync(d_heads, heads.data(), sizeof(int32_t) * e, cudaMemcpyHostToDevice, stream_), "cache write upload");
  check(cudaMemcpyAsync(longs_.as<int64_t>(), dst.data(), sizeof(int64_t) * e, cudaMemcpyHostToDevice, stream_),
        "cache write upload");
  scatter_kv(pages_.as<bf16>(), k, v, d_rows, d_heads, longs_.as<int64_t>(), (int64_t)e, cfg_.n_kv_heads, cfg_.head_dim,
             page_tokens_, stream_);
  check(cudaStreamSynchronize(stream_), "cache write");
}

void CudaBackend::decode(const std::vector<Sequence *> &batch, PagePool &pages) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  const Config &c = cfg_;
  const int B = (int)batch.size(), L = c.n_layers, nh = c.n_heads, hd = c.head_dim, pt = page_tokens_;
  for (const Sequence *seq : batch) {
    if (seq->probe)
      throw Error(HKV_ERR_UNSUPPORTED, "attention probes run on the CPU backend only (sequence " +
                                           std::to_string(seq->id) + " has one on a CUDA context)");
    // A fork may raise max_new_tokens after its source's prefill check.
    check_sliding_window(c, *seq, (int64_t)seq->n_past + 1, "up to this decode step");
  }

  // Host side, once per step: the slot of every new key/value (all layers), then every cache
  // head's page list with the new token counted, uploaded in one piece.
  std::vector<int32_t> tokens(B), positions(B), chs(B), slots(B);
  int64_t per_layer = 0;  // cache heads of the batch, per layer
  for (int b = 0; b < B; b++) {
    tokens[b] = batch[b]->generated.back();
    positions[b] = batch[b]->n_past;
    chs[b] = batch[b]->plan.cache_heads;
    slots[b] = batch[b]->slot;
    per_layer += chs[b];
  }
  std::vector<int32_t> rows, kv_heads;
  std::vector<int64_t> dst;
  rows.reserve(L * per_layer);
  kv_heads.reserve(L * per_layer);
  dst.reserve(L * per_layer);
  for (int l = 0; l < L; l++)
    for (int b = 0; b < B; b++) {
      Sequence &seq = *batch[b];
      const int ch = chs[b], per_kv = cache_heads_per_kv_head(c, seq);
      for (int h = 0; h < ch; h++) {
        HeadCache &head = seq.heads[(size_t)l * ch + h];
        const int slot = reserve_slot(pages, head, positions[b]);
        if (slot < 0) pool_exhausted();
        rows.push_back(b);
        kv_heads.push_back(h / per_kv);
        dst.push_back(((int64_t)head.pages.back() * 2 * pt + slot) * hd);
      }
    }
  std::vector<int32_t> desc((size_t)L * B * nh * 2, 0), table;
  int max_len = 1;
  for (int l = 0; l < L; l++)
    for (int b = 0; b < B; b++) {
      const Sequence &seq = *batch[b];
      for (int h = 0; h < chs[b]; h++) {
        const HeadCache &head = seq.heads[(size_t)l * chs[b] + h];
        int32_t *d = &desc[(((size_t)l * B + b) * nh + h) * 2];
        d[0] = (int32_t)table.size();
        d[1] = head.len();
        max_len = std::max(max_len, head.len());
        table.insert(table.end(), head.pages.begin(), head.pages.end());
      }
    }
  std::vector<int32_t> ints;
  ints.reserve(4 * B + rows.size() * 2 + desc.size() + table.size());
  auto place = [&ints](const std::vector<int32_t> &v) {
    const size_t at = ints.size();
    ints.insert(ints.end(), v.begin(), v.end());
    return at;
  };
  const size_t at_tokens = place(tokens), at_positions = place(positions), at_chs = place(chs), at_rows = place(rows),
               at_heads = place(kv_heads), at_desc = place(desc), at_table = place(table), at_slots = place(slots);
  ints_.grow(sizeof(int32_t) * ints.size(), "the decode step's page lists");
  longs_.grow(sizeof(int64_t) * dst.size(), "the decode step's cache writes");
  int32_t *di = ints_.as<int32_t>();
  check(cudaMemcpyAsync(di, ints.data(), sizeof(int32_t) * ints.size(), cudaMemcpyHostToDevice, stream_), "page list upload");
  check(cudaMemcpyAsync(longs_.as<int64_t>(), dst.data(), sizeof(int64_t) * dst.size(), cudaMemcpyHostToDevice, stream_),
        "page list upload");

  residual_.grow(sizeof(float) * B * (size_t)c.hidden, "the decode residual stream");
  keys_.grow(sizeof(bf16) * B * (size_t)c.kv_dim(), "the batch's keys");
  values_.grow(sizeof(bf16) * B * (size_t)c.kv_dim(), "the batch's values");
  act_.grow(c, B);
  partial_.grow(sizeof(float) * decode_partial_floats(B, nh, hd, max_len), "flash-decoding partials");
  batch_logits_.grow(sizeof(float) * B * (size_t)c.vocab, "the batch's logits");
  float *x = residual_.as<float>();
  embed(x, w_.embed, di + at_tokens, B, c.hidden, stream_);
  for (int l = 0; l < L; l++) {
    const DeviceLayer &lw = w_.layers[l];
    attention_input(lw, x, B);
    QkvSplit split{act_.qkv.as<bf16>(), lw.bqkv, w_.inv_freq, di + at_positions, 0, B, c.n_heads, c.n_kv_heads, hd,
                   act_.q.as<bf16>(), keys_.as<bf16>(), values_.as<bf16>(), nullptr, 0};
    split_qkv_rope(split, stream_);
    scatter_kv(pages_.as<bf16>(), keys_.as<bf16>(), values_.as<bf16>(), di + at_rows + l * per_layer,
               di + at_heads + l * per_layer, longs_.as<int64_t>() + l * per_layer, per_layer, c.n_kv_heads, hd, pt, stream_);
    PagedBatch cache{pages_.as<bf16>(), pt, di + at_chs, di + at_desc + (size_t)l * B * nh * 2, di + at_table, B, max_len};
    flash_decode(act_.q.as<bf16>(), cache, partial_.as<float>(), act_.att.as<bf16>(), nh, hd, stream_);
    attention_output_and_mlp(lw, x, B);
  }
  rmsnorm(act_.xn.as<bf16>(), x, w_.final_norm, B, c.hidden, c.rms_eps, stream_);
  blas_->gemm_bf16(act_.xn.as<bf16>(), w_.lm_head, batch_logits_.as<float>(), true, 0.f, B, c.vocab, c.hidden);
  copy_rows(slot_logits_.as<float>(), di + at_slots, batch_logits_.as<float>(), B, c.vocab, stream_);
  // No synchronisation: sample() follows on the same stream and waits once for the tokens.
}

void CudaBackend::sample(const std::vector<Sequence *> &seqs, const std::vector<TokenDraw> &draws,
                         std::vector<int32_t> &tokens) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  std::vector<int32_t> slots(seqs.size());
  for (size_t i = 0; i < seqs.size(); i++) slots[i] = seqs[i]->slot;
  sampler_.sample(slot_logits_.as<float>(), slots, draws, cfg_.vocab, tokens, stream_);
}

void CudaBackend::read_logits(int32_t slot, float *out) const {
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaMemcpyAsync(out, slot_logits(slot), sizeof(float) * cfg_.vocab, cudaMemcpyDeviceToHost, stream_),
        "logits copy");
  check(cudaStreamSynchronize(stream_), "logits copy");
}

void CudaBackend::copy_logits(int32_t src, int32_t dst) {
  check(cudaSetDevice(device_), "cudaSetDevice");
  check(cudaMemcpyAsync(slot_logits(dst), slot_logits(src), sizeof(float) * cfg_.vocab, cudaMemcpyDeviceToDevice, stream_),
        "logits copy (fork)");
}

}  // namespace hkv::cuda
