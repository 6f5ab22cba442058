/*
 * headkv.h: the C ABI of the HeadKV inference engine.
 *
 * Three opaque handles, kept apart as in llama.cpp:
 *   hkv_model    weights and config of one Hugging Face model folder (read-only, shareable);
 *   hkv_context  one session: owns the paged per-head KV cache and the active sequences;
 *   sequence     an integer id inside a context (a prompt being prefilled or decoded).
 *
 * Every function returns HKV_OK (0) or an error code; the message of the last error on the
 * calling thread is read with hkv_last_error(). The engine never calls exit() or abort() on bad
 * input. A context is not thread-safe: callers serialise calls on one context, except
 * hkv_seq_cancel(), which may be called from any thread at any time.
 */
#ifndef HEADKV_H
#define HEADKV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hkv_status {
  HKV_OK = 0,
  HKV_ERR_INVALID_ARGUMENT = 1, /* a parameter is out of range or inconsistent */
  HKV_ERR_IO = 2,               /* a file is missing, unreadable or truncated */
  HKV_ERR_FORMAT = 3,           /* config.json / safetensors content is malformed */
  HKV_ERR_UNSUPPORTED = 4,      /* unknown architecture, dtype, rope type, ... */
  HKV_ERR_OUT_OF_MEMORY = 5,    /* the KV page pool or the host ran out of memory */
  HKV_ERR_NOT_FOUND = 6,        /* unknown sequence id */
  HKV_ERR_CANCELLED = 7,        /* the sequence was cancelled while the call ran */
  HKV_ERR_STATE = 8,            /* call not valid in the sequence's current state */
  HKV_ERR_INTERNAL = 9
} hkv_status;

/* Message of the last failed call on this thread ("" if none). Valid until the next call. */
const char *hkv_last_error(void);
/* Engine version string, e.g. "0.1.0". */
const char *hkv_version(void);

/* ---------------------------------------------------------------- model */

typedef struct hkv_model hkv_model;

typedef enum hkv_device {
  HKV_DEVICE_CPU = 0,  /* fp32 reference backend, always built */
  HKV_DEVICE_CUDA = 1  /* bf16 backend on GPU `gpu_index`; needs a build with HEADKV_CUDA */
} hkv_device;

typedef struct hkv_model_params {
  hkv_device device;
  int32_t gpu_index;   /* CUDA device ordinal */
  int32_t n_threads;   /* CPU worker threads; 0 = hardware concurrency */
} hkv_model_params;

typedef struct hkv_model_info {
  char architecture[64];   /* "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM" */
  char weights_dtype[8];   /* dtype of the checkpoint: "f32", "f16", "bf16" */
  char fingerprint[65];    /* sha256 hex of config.json and every safetensors header */
  char device[128];        /* where it runs: "cpu (N threads)" or the GPU's name */
  int32_t n_layers;
  int32_t n_heads;         /* query heads */
  int32_t n_kv_heads;
  int32_t head_dim;
  int32_t hidden_size;
  int32_t intermediate_size;
  int32_t vocab_size;
  int32_t max_position_embeddings;
  int64_t n_params;
  int32_t bos_token_id;    /* -1 if absent */
  int32_t eos_token_ids[8];/* -1 terminated / padded */
} hkv_model_info;

hkv_model_params hkv_model_default_params(void);
/* Loads a Hugging Face folder (config.json + model.safetensors or sharded + index). */
hkv_status hkv_model_load(const char *dir, const hkv_model_params *params, hkv_model **out);
void hkv_model_free(hkv_model *model);
hkv_status hkv_model_get_info(const hkv_model *model, hkv_model_info *out);

/* ---------------------------------------------------------------- context */

typedef struct hkv_context hkv_context;

typedef struct hkv_context_params {
  int32_t max_sequences;   /* sequences that may be active at once */
  int32_t page_tokens;     /* tokens per KV page (per layer and cache head); default 16 */
  int64_t kv_cache_bytes;  /* size of the KV page pool in bytes */
  int32_t prefill_chunk;   /* prompt tokens per prefill chunk; 0 (default): the backend's own,
                              512 on the CPU, 4096 on CUDA (larger matrix products) */
  /* kv_cache_bytes == 0 on CUDA: this fraction of the GPU memory free at creation */
  float kv_cache_fraction;
  int32_t max_context;     /* longest prompt + generation accepted; 0 = model's max positions */
} hkv_context_params;

hkv_context_params hkv_context_default_params(void);
hkv_status hkv_context_create(hkv_model *model, const hkv_context_params *params, hkv_context **out);
void hkv_context_free(hkv_context *ctx);

typedef struct hkv_context_stats {
  int64_t page_bytes;       /* bytes of one page (K and V of page_tokens tokens of one head) */
  int64_t pages_total;
  int64_t pages_used;
  int64_t kv_bytes_held;    /* pages_used * page_bytes: memory really held by sequences */
  int32_t active_sequences;
  int32_t free_slots;       /* max_sequences - active_sequences */
} hkv_context_stats;

hkv_status hkv_context_get_stats(const hkv_context *ctx, hkv_context_stats *out);

/* ---------------------------------------------------------------- sequences */

typedef struct hkv_sampling_params {
  float temperature;        /* 0 = greedy */
  int32_t top_k;            /* 0 = off */
  float top_p;              /* 1 = off */
  uint64_t seed;
  int32_t max_new_tokens;
  const int32_t *stop_token_ids; /* may be NULL */
  int32_t n_stop_token_ids;
} hkv_sampling_params;

typedef enum hkv_kv_method {
  HKV_KV_FULL = 0,
  HKV_KV_SNAPKV = 1,
  HKV_KV_PYRAMIDKV = 2,
  HKV_KV_ADA_SNAPKV = 3,
  HKV_KV_HEADKV = 4 /* HeadKV-R or HeadKV-R2: which one is decided by the scores given */
} hkv_kv_method;

typedef enum hkv_kv_granularity {
  HKV_GRANULARITY_KV_HEAD = 0,    /* one selection per KV head (real GQA memory) */
  HKV_GRANULARITY_QUERY_HEAD = 1  /* one selection and copy per query head (reference) */
} hkv_kv_granularity;

typedef struct hkv_kv_params {
  hkv_kv_method method;
  int32_t kv_size;          /* average per-head budget K, window included */
  int32_t window;           /* alpha: last prompt tokens used as queries, always kept */
  int32_t pool_kernel;      /* max-pooling kernel along positions (odd) */
  float beta;               /* HeadKV pool factor */
  float temp;               /* HeadKV score temperature */
  hkv_kv_granularity granularity;
  int32_t cap_at_prompt;    /* 1: cap head budgets at the prompt length, redistribute surplus */
  int32_t group_aggregation;/* kv-head granularity: 0 = mean of the group's scores, 1 = max */
  const float *head_scores; /* HEADKV: n_layers * n_heads importance scores (layer-major) */
} hkv_kv_params;

typedef enum hkv_seq_state {
  HKV_SEQ_PENDING = 0,  /* added, prompt not yet prefilled */
  HKV_SEQ_DECODING = 1, /* prefilled; decoded by hkv_step */
  HKV_SEQ_FINISHED = 2  /* stopped (see finish reason); still holds its cache until removed */
} hkv_seq_state;

typedef enum hkv_finish_reason {
  HKV_FINISH_NONE = 0,
  HKV_FINISH_STOP = 1,      /* a stop token */
  HKV_FINISH_LENGTH = 2,    /* max_new_tokens or the context limit */
  HKV_FINISH_CANCELLED = 3
} hkv_finish_reason;

hkv_sampling_params hkv_sampling_default_params(void);
hkv_kv_params hkv_kv_default_params(void);

/* Adds a sequence with its prompt; the prompt is copied. Fails with OUT_OF_MEMORY when the
 * pool cannot hold the prompt's cache during prefill, or when no slot is free. */
hkv_status hkv_seq_add(hkv_context *ctx, const int32_t *prompt, int32_t n_prompt,
                       const hkv_sampling_params *sampling, const hkv_kv_params *kv, int32_t *out_id);

/* Progress callback for prefill, called on the calling thread. Prefill runs layer by layer over
 * the whole prompt, so work is counted in (layer, token) pairs: done rises to total =
 * n_layers * n_prompt. */
typedef void (*hkv_progress_fn)(void *user, int64_t done, int64_t total);

/* Prefills the prompt in chunks, compresses the cache, samples the first token. */
hkv_status hkv_seq_prefill(hkv_context *ctx, int32_t id, hkv_progress_fn progress, void *user,
                           int32_t *out_token);

typedef struct hkv_step_token {
  int32_t seq_id;
  int32_t token;             /* the token sampled this step (-1 if none) */
  hkv_finish_reason finish;  /* != NONE when the sequence finished at this step */
} hkv_step_token;

/* One decode step for every DECODING sequence: feeds each its last token, samples the next.
 * Writes up to max_out results; *n_out is the number of sequences stepped. */
hkv_status hkv_step(hkv_context *ctx, hkv_step_token *out, int32_t max_out, int32_t *n_out);

/* A new sequence that continues from the current state of a prefilled sequence `id` (same
 * prompt, same kept cache, same generated tokens so far) with its own sampling parameters:
 * its pages are copies, so the two then decode independently. Admission as for hkv_seq_add. */
hkv_status hkv_seq_fork(hkv_context *ctx, int32_t id, const hkv_sampling_params *sampling, int32_t *out_id);

/* Thread-safe: marks the sequence cancelled; a running prefill stops at the next chunk. */
hkv_status hkv_seq_cancel(hkv_context *ctx, int32_t id);
/* Frees the sequence's pages and slot. */
hkv_status hkv_seq_remove(hkv_context *ctx, int32_t id);

typedef struct hkv_seq_info {
  hkv_seq_state state;
  hkv_finish_reason finish;
  int32_t n_prompt;
  int32_t n_generated;
  int64_t kv_bytes_full;     /* bytes a full cache of prompt+generated tokens would take */
  int64_t kv_bytes_kept;     /* bytes of the tokens this sequence really keeps */
  int64_t kv_pages;          /* pages held (>= kept bytes / page_bytes) */
} hkv_seq_info;

hkv_status hkv_seq_get_info(const hkv_context *ctx, int32_t id, hkv_seq_info *out);

/* Logits of the last position processed for this sequence (vocab_size floats). */
hkv_status hkv_seq_get_logits(const hkv_context *ctx, int32_t id, float *out, int32_t n);

/* Kept prompt positions after compression. cache_heads = n_kv_heads (kv-head granularity) or
 * n_heads (query-head). Call with positions == NULL to read the counts: counts has
 * n_layers * cache_heads entries (layer-major); positions then holds sum(counts) ints, each
 * head's positions ascending. */
hkv_status hkv_seq_get_selection(const hkv_context *ctx, int32_t id, int32_t *cache_heads,
                                 int32_t *counts, int32_t *positions, int64_t n_positions);

/* ---------------------------------------------------------------- profiling */

typedef enum hkv_probe_rule {
  HKV_PROBE_RETRIEVAL = 0,           /* HeadKV-R: argmax inside the needle and a copied token */
  HKV_PROBE_RETRIEVAL_REASONING = 1  /* HeadKV-R2: top-N attention mass inside the answer span */
} hkv_probe_rule;

/* Scores every decode step's attention of a PENDING sequence against the needle span
 * [span_begin, span_end) of its prompt (HEADKV.md section 2). Use full-cache sequences. */
hkv_status hkv_seq_attach_probe(hkv_context *ctx, int32_t id, hkv_probe_rule rule, int32_t span_begin,
                                int32_t span_end);
/* The probe's per-head totals over the steps so far: n_layers * n_heads values, layer-major. */
hkv_status hkv_seq_get_probe_scores(const hkv_context *ctx, int32_t id, double *out, int32_t n);

#ifdef __cplusplus
}
#endif

#endif /* HEADKV_H */
