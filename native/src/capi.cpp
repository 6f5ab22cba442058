// capi.cpp: the C ABI of headkv.h over the C++ engine. Every entry point catches everything:
// errors become a status and a thread-local message, never an exception across the ABI.
#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "compress/probe_scoring.h"
#include "context.h"
#include "error.h"
#include "headkv.h"
#include "model.h"
#include "runtime.h"
#include "version.h"

struct hkv_model {
  std::unique_ptr<hkv::LoadedModel> loaded;
  std::unique_ptr<hkv::Runtime> runtime;
};

struct hkv_context {
  hkv_model *model;
  std::unique_ptr<hkv::Context> ctx;
};

namespace {

thread_local std::string last_error;

template <typename F>
hkv_status guarded(F &&fn) {
  try {
    fn();
    last_error.clear();
    return HKV_OK;
  } catch (const hkv::Error &e) {
    last_error = e.what();
    return e.status();
  } catch (const std::bad_alloc &) {
    last_error = "out of host memory";
    return HKV_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    last_error = std::string("internal error: ") + e.what();
    return HKV_ERR_INTERNAL;
  } catch (...) {
    last_error = "internal error: unknown exception";
    return HKV_ERR_INTERNAL;
  }
}

void require(bool ok, const char *what) {
  if (!ok) throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, what);
}

}  // namespace

extern "C" {

const char *hkv_last_error(void) { return last_error.c_str(); }
const char *hkv_version(void) { return HKV_VERSION; }

hkv_model_params hkv_model_default_params(void) { return hkv_model_params{HKV_DEVICE_CPU, 0, 0}; }

hkv_status hkv_model_load(const char *dir, const hkv_model_params *params, hkv_model **out) {
  return guarded([&] {
    require(dir && out, "hkv_model_load: dir and out must not be NULL");
    *out = nullptr;
    auto m = std::make_unique<hkv_model>();
    m->loaded = hkv::load_model(dir);
    m->runtime = hkv::make_runtime(*m->loaded, params ? *params : hkv_model_default_params());
    *out = m.release();
  });
}

void hkv_model_free(hkv_model *model) { delete model; }

hkv_status hkv_model_get_info(const hkv_model *model, hkv_model_info *out) {
  return guarded([&] {
    require(model && out, "hkv_model_get_info: model and out must not be NULL");
    const hkv::LoadedModel &m = *model->loaded;
    const hkv::Config &c = m.config;
    hkv_model_info info{};
    std::strncpy(info.architecture, c.architecture_name.c_str(), sizeof(info.architecture) - 1);
    std::strncpy(info.weights_dtype, m.weights_dtype.c_str(), sizeof(info.weights_dtype) - 1);
    std::strncpy(info.fingerprint, m.fingerprint.c_str(), sizeof(info.fingerprint) - 1);
    std::strncpy(info.device, model->runtime->device_name(), sizeof(info.device) - 1);
    info.n_layers = c.n_layers;
    info.n_heads = c.n_heads;
    info.n_kv_heads = c.n_kv_heads;
    info.head_dim = c.head_dim;
    info.hidden_size = c.hidden;
    info.intermediate_size = c.intermediate;
    info.vocab_size = c.vocab;
    info.max_position_embeddings = c.max_positions;
    info.n_params = m.n_params;
    info.bos_token_id = c.bos_token_id;
    for (int i = 0; i < 8; i++) info.eos_token_ids[i] = i < (int)c.eos_token_ids.size() ? c.eos_token_ids[i] : -1;
    *out = info;
  });
}

hkv_context_params hkv_context_default_params(void) {
  hkv_context_params p{};
  p.max_sequences = 16;
  p.page_tokens = 16;
  p.kv_cache_bytes = int64_t(512) << 20;
  p.prefill_chunk = 0;
  p.max_context = 0;
  p.kv_cache_fraction = 0.9f;
  return p;
}

hkv_status hkv_context_create(hkv_model *model, const hkv_context_params *params, hkv_context **out) {
  return guarded([&] {
    require(model && out, "hkv_context_create: model and out must not be NULL");
    *out = nullptr;
    hkv_context_params p = params ? *params : hkv_context_default_params();
    require(p.max_sequences >= 1, "context.max_sequences: must be >= 1");
    require(p.page_tokens >= 1 && p.page_tokens <= 4096, "context.page_tokens: must be in 1..4096");
    require(p.prefill_chunk >= 0, "context.prefill_chunk: must be >= 0 (0: the backend's default)");
    require(p.max_context >= 0, "context.max_context: must be >= 0");
    const hkv::Config &c = model->loaded->config;
    const int64_t page_bytes = model->runtime->page_bytes(p.page_tokens);
    if (p.kv_cache_bytes == 0) {
      require(p.kv_cache_fraction > 0.f && p.kv_cache_fraction <= 1.f, "context.kv_cache_fraction: must be in (0, 1]");
      const int64_t available = model->runtime->available_kv_bytes();
      require(available != INT64_MAX, "context.kv_cache_bytes: must be set on the CPU (no device memory to size it from)");
      p.kv_cache_bytes = (int64_t)(available * (double)p.kv_cache_fraction);
    }
    if (p.kv_cache_bytes < page_bytes * c.n_layers * c.n_kv_heads)
      throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, "context.kv_cache_bytes: " + std::to_string(p.kv_cache_bytes) +
                                                     " cannot hold one page per layer and KV head (" +
                                                     std::to_string(page_bytes * c.n_layers * c.n_kv_heads) + " bytes)");
    if (p.max_context > c.max_positions)
      throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, "context.max_context: " + std::to_string(p.max_context) +
                                                     " exceeds the model's max_position_embeddings " +
                                                     std::to_string(c.max_positions));
    auto ctx = std::make_unique<hkv_context>();
    ctx->model = model;
    const int64_t n_pages = p.kv_cache_bytes / page_bytes;
    auto backend = model->runtime->make_backend(n_pages, p);
    ctx->ctx = std::make_unique<hkv::Context>(c, p, std::move(backend), hkv::PagePool(n_pages, p.page_tokens, page_bytes));
    *out = ctx.release();
  });
}

void hkv_context_free(hkv_context *ctx) { delete ctx; }

hkv_status hkv_context_get_stats(const hkv_context *ctx, hkv_context_stats *out) {
  return guarded([&] {
    require(ctx && out, "hkv_context_get_stats: ctx and out must not be NULL");
    *out = ctx->ctx->stats();
  });
}

hkv_sampling_params hkv_sampling_default_params(void) {
  hkv_sampling_params p{};
  p.temperature = 0.f;
  p.top_k = 0;
  p.top_p = 1.f;
  p.seed = 0;
  p.max_new_tokens = 128;
  p.stop_token_ids = nullptr;
  p.n_stop_token_ids = 0;
  return p;
}

hkv_kv_params hkv_kv_default_params(void) {
  hkv_kv_params p{};
  p.method = HKV_KV_FULL;
  p.kv_size = 128;
  p.window = 8;
  p.pool_kernel = 7;
  p.beta = 1.01f;
  p.temp = 1.f;
  p.granularity = HKV_GRANULARITY_KV_HEAD;
  p.cap_at_prompt = 1;
  p.group_aggregation = 0;
  p.head_scores = nullptr;
  return p;
}

hkv_status hkv_seq_add(hkv_context *ctx, const int32_t *prompt, int32_t n_prompt, const hkv_sampling_params *sampling,
                       const hkv_kv_params *kv, int32_t *out_id) {
  return guarded([&] {
    require(ctx && prompt && out_id, "hkv_seq_add: ctx, prompt and out_id must not be NULL");
    const hkv_sampling_params s = sampling ? *sampling : hkv_sampling_default_params();
    const hkv_kv_params k = kv ? *kv : hkv_kv_default_params();
    *out_id = ctx->ctx->add(prompt, n_prompt, s, k);
  });
}

hkv_status hkv_seq_prefill(hkv_context *ctx, int32_t id, hkv_progress_fn progress, void *user, int32_t *out_token) {
  return guarded([&] {
    require(ctx, "hkv_seq_prefill: ctx must not be NULL");
    const int32_t token = ctx->ctx->prefill(id, progress, user);
    if (out_token) *out_token = token;
  });
}

hkv_status hkv_seq_fork(hkv_context *ctx, int32_t id, const hkv_sampling_params *sampling, int32_t *out_id) {
  return guarded([&] {
    require(ctx && out_id, "hkv_seq_fork: ctx and out_id must not be NULL");
    *out_id = ctx->ctx->fork(id, sampling ? *sampling : hkv_sampling_default_params());
  });
}

hkv_status hkv_step(hkv_context *ctx, hkv_step_token *out, int32_t max_out, int32_t *n_out) {
  return guarded([&] {
    require(ctx && out && n_out, "hkv_step: ctx, out and n_out must not be NULL");
    *n_out = 0;
    *n_out = ctx->ctx->step(out, max_out);
  });
}

hkv_status hkv_seq_cancel(hkv_context *ctx, int32_t id) {
  return guarded([&] {
    require(ctx, "hkv_seq_cancel: ctx must not be NULL");
    ctx->ctx->cancel(id);
  });
}

hkv_status hkv_seq_remove(hkv_context *ctx, int32_t id) {
  return guarded([&] {
    require(ctx, "hkv_seq_remove: ctx must not be NULL");
    ctx->ctx->remove(id);
  });
}

hkv_status hkv_seq_get_info(const hkv_context *ctx, int32_t id, hkv_seq_info *out) {
  return guarded([&] {
    require(ctx && out, "hkv_seq_get_info: ctx and out must not be NULL");
    *out = ctx->ctx->info(id);
  });
}

hkv_status hkv_seq_get_logits(const hkv_context *ctx, int32_t id, float *out, int32_t n) {
  return guarded([&] {
    require(ctx && out, "hkv_seq_get_logits: ctx and out must not be NULL");
    ctx->ctx->read_logits(id, out, n);
  });
}

hkv_status hkv_seq_get_selection(const hkv_context *ctx, int32_t id, int32_t *cache_heads, int32_t *counts,
                                 int32_t *positions, int64_t n_positions) {
  return guarded([&] {
    require(ctx && cache_heads, "hkv_seq_get_selection: ctx and cache_heads must not be NULL");
    const hkv::Sequence &seq = ctx->ctx->get(id);
    if (seq.state == HKV_SEQ_PENDING) throw hkv::Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " is not prefilled yet");
    *cache_heads = seq.plan.cache_heads;
    const int32_t n_prompt = (int32_t)seq.prompt.size();
    int64_t total = 0;
    for (size_t h = 0; h < seq.heads.size(); h++) {
      int32_t kept = 0;
      for (int32_t p : seq.heads[h].positions)
        if (p < n_prompt) kept++;
      if (counts) counts[h] = kept;
      total += kept;
    }
    if (!positions) return;
    if (n_positions < total)
      throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, "hkv_seq_get_selection: buffer of " + std::to_string(n_positions) +
                                                     " positions, " + std::to_string(total) + " needed");
    int64_t i = 0;
    for (const auto &head : seq.heads)
      for (int32_t p : head.positions)
        if (p < n_prompt) positions[i++] = p;
  });
}

hkv_status hkv_seq_attach_probe(hkv_context *ctx, int32_t id, hkv_probe_rule rule, int32_t span_begin,
                                int32_t span_end) {
  return guarded([&] {
    require(ctx, "hkv_seq_attach_probe: ctx must not be NULL");
    const hkv::Config &c = ctx->model->loaded->config;
    const hkv::Sequence &seq = ctx->ctx->get(id);
    std::unique_ptr<hkv::AttentionProbe> probe;
    if (rule == HKV_PROBE_RETRIEVAL)
      probe = std::make_unique<hkv::RetrievalProbe>(span_begin, span_end, seq.prompt, c.n_layers, c.n_heads);
    else if (rule == HKV_PROBE_RETRIEVAL_REASONING)
      probe = std::make_unique<hkv::RetrievalReasoningProbe>(span_begin, span_end, (int32_t)seq.prompt.size(), c.n_layers,
                                                             c.n_heads);
    else
      throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, "probe.rule: unknown rule " + std::to_string((int)rule));
    ctx->ctx->attach_probe(id, std::move(probe));
  });
}

hkv_status hkv_seq_get_probe_scores(const hkv_context *ctx, int32_t id, double *out, int32_t n) {
  return guarded([&] {
    require(ctx && out, "hkv_seq_get_probe_scores: ctx and out must not be NULL");
    const hkv::Sequence &seq = ctx->ctx->get(id);
    const auto *probe = dynamic_cast<const hkv::HeadScoreProbe *>(seq.probe.get());
    if (!probe) throw hkv::Error(HKV_ERR_STATE, "sequence " + std::to_string(id) + " has no probe attached");
    const auto &scores = probe->scores();
    if (n < (int32_t)scores.size())
      throw hkv::Error(HKV_ERR_INVALID_ARGUMENT, "hkv_seq_get_probe_scores: buffer of " + std::to_string(n) + " values, " +
                                                     std::to_string(scores.size()) + " needed");
    std::copy(scores.begin(), scores.end(), out);
  });
}

}  // extern "C"
