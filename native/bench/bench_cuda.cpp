// bench_cuda.cpp: the engine on one GPU, driven through the C ABI (tools/bench/bench_cuda.py
// runs it next to transformers on the same model folder).
//
//   bench_cuda MODEL_DIR [--prefill 8192,32768] [--chunk N] [--decode-steps N]
//                        [--job DOCS,PROMPT,NEW,KV_SIZE] [--job-method snapkv|headkv] [--job-temperature T]
//                        [--decode-kernel BATCH,LENGTH] [--longest L1,L2,...]
//   bench_cuda none [--decode-kernel BATCH,LENGTH,HEADS,KV_HEADS,HEAD_DIM]
//                   [--prefill-kernel LENGTH,HEADS,KV_HEADS,HEAD_DIM,CHUNK]
//                   [--compress-kernel LENGTH,HEADS,KV_HEADS,HEAD_DIM,WINDOW]
//                   [--gemm M,HIDDEN,Q_DIM,KV_DIM,INTERMEDIATE]
//
//   --prefill: batch-1 prefill tokens/s of each prompt length (full cache), then decode
//              tokens/s at batch 1 on that cache for --decode-steps steps;
//   --job:     DOCS prompts of PROMPT random tokens, each prefilled with compression at KV_SIZE
//              (--job-method: snapkv, or headkv with the synthetic head profile below) and then
//              all decoded together for NEW tokens, greedy or (--job-temperature T > 0)
//              sampled at temperature T over the whole vocabulary: documents per hour;
//   --decode-kernel: the decode attention kernel alone over BATCH full caches of LENGTH tokens
//              in the model's head shape, against the card's device-to-device copy bandwidth
//              (MODEL_DIR "none" with BATCH,LENGTH,HEADS,KV_HEADS,HEAD_DIM: no model loaded);
//   --prefill-kernel: the prefill attention kernel alone over one causal prompt, in chunks as
//              the engine runs it: seconds and TFLOP/s of each kernel this device runs
//              (portable, and hopper where built and supported; MODEL_DIR "none" only);
//   --compress-kernel: one layer's KV compression after prefill, as the engine runs it: window
//              scores of WINDOW queries over LENGTH keys, then SnapKV's choice of 120 positions
//              per KV head (pool 7, kv-head granularity): milliseconds of each (MODEL_DIR "none" only);
//   --gemm:    the cuBLAS GEMMs of one layer's projections over M tokens (qkv, o, gate_up, down),
//              each with bf16 and with fp32 output (the backend adds o and down onto the fp32
//              residual): TFLOP/s (MODEL_DIR "none" only);
//   --longest: one document of each length in turn (headkv, --job's KV_SIZE or 128, 16 new
//              tokens) until one fails: the longest prompt that completes, and why the next not.
// Prints one JSON object per measurement; GPU memory in use (total - free, CUDA context and
// all) is read after each, and the engine keeps its scratch, so it is the run's peak so far.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "headkv.h"

#ifdef HEADKV_WITH_CUDA
#include <cuda_runtime.h>

#include "cuda/kernel_bench.h"
#endif

using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void die(const std::string &what) {
  std::fprintf(stderr, "bench_cuda: %s: %s\n", what.c_str(), hkv_last_error());
  std::exit(1);
}

double gpu_used_gib() {
#ifdef HEADKV_WITH_CUDA
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return -1;
  return (double)(total_b - free_b) / (1 << 30);
#else
  return -1;
#endif
}

std::vector<int> ints(const std::string &csv) {
  std::vector<int> out;
  std::stringstream ss(csv);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::atoi(item.c_str()));
  return out;
}

std::vector<int32_t> random_prompt(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, vocab - 1);
  std::vector<int32_t> p(n);
  for (auto &t : p) t = d(rng);
  return p;
}

// A head profile for a model with random weights, where no profile means anything: importance
// scores drawn from a seeded log-normal, so that budgets are as uneven across heads as HeadKV's
// are on trained models. The total budget (kv_size x heads) does not depend on them.
std::vector<float> synthetic_head_scores(const hkv_model_info &info) {
  std::mt19937 rng(2024);
  std::lognormal_distribution<float> d(0.f, 1.f);
  std::vector<float> scores((size_t)info.n_layers * info.n_heads);
  for (auto &s : scores) s = d(rng);
  return scores;
}

#ifdef HEADKV_WITH_CUDA
// The decode attention kernel alone in the shape's heads, against the card's copy bandwidth.
void print_decode_kernel(const hkv_model_info &shape, int batch, int length) {
  const hkv::cuda::bench::Bandwidth copy = hkv::cuda::bench::copy_bandwidth(4e9, 20);
  for (const bool shuffled : {false, true}) {
    const hkv::cuda::bench::Bandwidth att = hkv::cuda::bench::decode_attention_bandwidth(
        batch, shape.n_heads, shape.n_kv_heads, shape.head_dim, length, 16, shuffled, 20);
    std::printf("{\"what\":\"decode_kernel\",\"pages\":\"%s\",\"batch\":%d,\"length\":%d,\"heads\":%d,\"kv_heads\":%d,"
                "\"head_dim\":%d,\"seconds\":%.6f,\"kv_gb\":%.3f,\"kv_gb_per_s\":%.1f,\"copy_gb_per_s\":%.1f,"
                "\"fraction_of_copy\":%.3f}\n",
                shuffled ? "shuffled" : "in order", batch, length, shape.n_heads, shape.n_kv_heads, shape.head_dim,
                att.seconds, att.bytes / 1e9, att.gb_per_s(), copy.gb_per_s(), att.gb_per_s() / copy.gb_per_s());
    std::fflush(stdout);
  }
}

void print_compress_kernel(const std::vector<int> &a) {
  constexpr int kCap = 120;  // a HeadKV-like budget: kv_size 128 less a window of 8
  const hkv::cuda::bench::CompressTiming t = hkv::cuda::bench::compress_timing(a[0], a[1], a[2], a[3], a[4], kCap, 10);
  std::printf("{\"what\":\"compress_kernel\",\"length\":%d,\"heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,"
              "\"window\":%d,\"cap\":%d,\"window_scores_ms\":%.3f,\"select_ms\":%.3f,\"layer_ms\":%.3f}\n",
              a[0], a[1], a[2], a[3], a[4], kCap, t.window_scores_seconds * 1e3, t.select_seconds * 1e3,
              (t.window_scores_seconds + t.select_seconds) * 1e3);
  std::fflush(stdout);
}

// The four projections of a layer as the prefill runs them over a chunk of m tokens, each with
// bf16 and with fp32 output: a = M,HIDDEN,Q_DIM,KV_DIM,INTERMEDIATE.
void print_gemms(const std::vector<int> &a) {
  const int m = a[0], hidden = a[1], q_dim = a[2], kv_dim = a[3], inter = a[4];
  struct Projection { const char *name; int n, k; bool backend_fp32; };
  for (const Projection &p : {Projection{"qkv", q_dim + 2 * kv_dim, hidden, false}, Projection{"o", hidden, q_dim, true},
                              Projection{"gate_up", 2 * inter, hidden, false}, Projection{"down", hidden, inter, true}})
    for (bool fp32 : {false, true}) {
      const hkv::cuda::bench::Compute g = hkv::cuda::bench::gemm_compute(m, p.n, p.k, fp32, 20);
      std::printf("{\"what\":\"gemm\",\"projection\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"out\":\"%s\","
                  "\"as_backend\":%s,\"seconds\":%.6f,\"tflops\":%.1f}\n",
                  p.name, m, p.n, p.k, fp32 ? "fp32" : "bf16", fp32 == p.backend_fp32 ? "true" : "false", g.seconds,
                  g.tflops());
      std::fflush(stdout);
    }
}

void print_prefill_kernel(const std::vector<int> &a) {
  for (const std::string &kernel : hkv::cuda::bench::prefill_kernels(a[3])) {
    const hkv::cuda::bench::Compute att =
        hkv::cuda::bench::prefill_attention_compute(kernel, a[0], a[4], a[1], a[2], a[3], 3);
    std::printf("{\"what\":\"prefill_kernel\",\"kernel\":\"%s\",\"length\":%d,\"heads\":%d,\"kv_heads\":%d,"
                "\"head_dim\":%d,\"chunk\":%d,\"seconds\":%.6f,\"tflops\":%.1f}\n",
                kernel.c_str(), a[0], a[1], a[2], a[3], a[4], att.seconds, att.tflops());
    std::fflush(stdout);
  }
}
#endif

// Prefills and decodes `new_tokens` for one prompt of n tokens; false (with the engine's error
// in `why`) when the engine cannot. used_gib: GPU memory in use with the context still alive
// (weights, the context's pre-sized KV pool, its prefill scratch); pool_gib: that pool's size.
bool run_one_document(hkv_model *model, const hkv_model_info &info, int n, int chunk, const hkv_kv_params &kv,
                      int new_tokens, double &seconds, std::string &why, double &used_gib, double &pool_gib) {
  hkv_context_params cp = hkv_context_default_params();
  cp.prefill_chunk = chunk;
  cp.max_sequences = 1;
  cp.kv_cache_bytes = 0;
  cp.max_context = n + new_tokens + 1;
  hkv_context *ctx = nullptr;
  const auto t0 = Clock::now();
  if (hkv_context_create(model, &cp, &ctx) != HKV_OK) {
    why = hkv_last_error();
    return false;
  }
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = new_tokens;
  const std::vector<int32_t> prompt = random_prompt(n, info.vocab_size, 31 + n);
  int32_t id = -1, token = -1, n_out = 0;
  hkv_step_token out[1];
  bool ok = hkv_seq_add(ctx, prompt.data(), n, &sp, &kv, &id) == HKV_OK &&
            hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) == HKV_OK;
  while (ok && hkv_step(ctx, out, 1, &n_out) == HKV_OK && n_out > 0) {
  }
  if (!ok) {
    why = hkv_last_error();
    for (char &ch : why)
      if (ch == '"' || ch == '\\' || ch == '\n') ch = '\'';  // printed inside a JSON string
  }
  seconds = seconds_since(t0);
  used_gib = gpu_used_gib();
  hkv_context_stats st{};
  hkv_context_get_stats(ctx, &st);
  pool_gib = (double)st.pages_total * st.page_bytes / (1 << 30);
  hkv_context_free(ctx);
  return ok;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cuda MODEL_DIR [--prefill L1,L2] [--chunk N] [--decode-steps N] [--job DOCS,PROMPT,NEW,KV_SIZE] "
                         "[--job-method snapkv|headkv] [--job-temperature T] [--decode-kernel BATCH,LENGTH] [--longest L1,L2,...]\n");
    return 2;
  }
  std::vector<int> prefill_lengths;
  std::vector<int> job, decode_kernel, prefill_kernel, compress_kernel, gemm, longest;
  std::string job_method = "snapkv";
  float job_temperature = 0.f;
  int chunk = 4096, decode_steps = 32;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--prefill") prefill_lengths = ints(argv[i + 1]);
    else if (a == "--chunk") chunk = std::atoi(argv[i + 1]);
    else if (a == "--decode-steps") decode_steps = std::atoi(argv[i + 1]);
    else if (a == "--job") job = ints(argv[i + 1]);
    else if (a == "--job-method") job_method = argv[i + 1];
    else if (a == "--job-temperature") job_temperature = (float)std::atof(argv[i + 1]);
    else if (a == "--decode-kernel") decode_kernel = ints(argv[i + 1]);
    else if (a == "--prefill-kernel") prefill_kernel = ints(argv[i + 1]);
    else if (a == "--compress-kernel") compress_kernel = ints(argv[i + 1]);
    else if (a == "--gemm") gemm = ints(argv[i + 1]);
    else if (a == "--longest") longest = ints(argv[i + 1]);
    else {
      std::fprintf(stderr, "bench_cuda: unknown option %s\n", a.c_str());
      return 2;
    }
  }

#ifdef HEADKV_WITH_CUDA
  if (std::string(argv[1]) == "none") {
    if ((decode_kernel.size() != 5 && !decode_kernel.empty()) || (prefill_kernel.size() != 5 && !prefill_kernel.empty()) ||
        (compress_kernel.size() != 5 && !compress_kernel.empty()) || (gemm.size() != 5 && !gemm.empty()) ||
        (decode_kernel.empty() && prefill_kernel.empty() && compress_kernel.empty() && gemm.empty())) {
      std::fprintf(stderr, "bench_cuda: MODEL_DIR none needs --decode-kernel BATCH,LENGTH,HEADS,KV_HEADS,HEAD_DIM, "
                           "--prefill-kernel LENGTH,HEADS,KV_HEADS,HEAD_DIM,CHUNK "
                           "--compress-kernel LENGTH,HEADS,KV_HEADS,HEAD_DIM,WINDOW "
                           "and/or --gemm M,HIDDEN,Q_DIM,KV_DIM,INTERMEDIATE\n");
      return 2;
    }
    if (!prefill_kernel.empty()) print_prefill_kernel(prefill_kernel);
    if (!compress_kernel.empty()) print_compress_kernel(compress_kernel);
    if (!gemm.empty()) print_gemms(gemm);
    if (!decode_kernel.empty()) {
      hkv_model_info shape{};
      shape.n_heads = decode_kernel[2];
      shape.n_kv_heads = decode_kernel[3];
      shape.head_dim = decode_kernel[4];
      print_decode_kernel(shape, decode_kernel[0], decode_kernel[1]);
    }
    return 0;
  }
#endif
  const auto t_load = Clock::now();
  hkv_model_params mp = hkv_model_default_params();
  mp.device = HKV_DEVICE_CUDA;
  hkv_model *model = nullptr;
  if (hkv_model_load(argv[1], &mp, &model) != HKV_OK) die("load");
  hkv_model_info info;
  hkv_model_get_info(model, &info);
  std::printf("{\"what\":\"load\",\"device\":\"%s\",\"seconds\":%.2f,\"gpu_used_gib\":%.2f}\n", info.device,
              seconds_since(t_load), gpu_used_gib());
  std::fflush(stdout);

  if (job_method != "snapkv" && job_method != "headkv") {
    std::fprintf(stderr, "bench_cuda: --job-method must be snapkv or headkv, got %s\n", job_method.c_str());
    return 2;
  }
  const std::vector<float> head_scores = synthetic_head_scores(info);
  hkv_kv_params headkv = hkv_kv_default_params();
  headkv.method = HKV_KV_HEADKV;
  headkv.kv_size = job.size() == 4 ? job[3] : 128;
  headkv.window = 32;
  headkv.head_scores = head_scores.data();

#ifdef HEADKV_WITH_CUDA
  if (decode_kernel.size() >= 2) print_decode_kernel(info, decode_kernel[0], decode_kernel[1]);
#endif

  // K and V of one token in every layer and KV head, bf16.
  const int64_t token_bytes = (int64_t)info.n_layers * info.n_kv_heads * info.head_dim * 2 * 2;
  for (int n : prefill_lengths) {
    hkv_context_params cp = hkv_context_default_params();
    cp.prefill_chunk = chunk;
    cp.max_sequences = 1;
    cp.kv_cache_bytes = token_bytes * (n + decode_steps + 64);  // the full cache, pages rounded up
    hkv_context *ctx = nullptr;
    if (hkv_context_create(model, &cp, &ctx) != HKV_OK) die("context");
    const std::vector<int32_t> prompt = random_prompt(n, info.vocab_size, 7 + n);
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = decode_steps + 1;
    hkv_kv_params kv = hkv_kv_default_params();
    // Warm-up (kernels, cuBLAS heuristics, scratch) on a short prompt.
    {
      int32_t id = -1, token = -1;
      const std::vector<int32_t> warm(prompt.begin(), prompt.begin() + std::min(n, 1024));
      if (hkv_seq_add(ctx, warm.data(), (int32_t)warm.size(), &sp, &kv, &id) != HKV_OK ||
          hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) != HKV_OK)
        die("warm-up");
      hkv_seq_remove(ctx, id);
    }
    int32_t id = -1, token = -1;
    if (hkv_seq_add(ctx, prompt.data(), n, &sp, &kv, &id) != HKV_OK) die("seq_add");
    const auto t0 = Clock::now();
    if (hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) != HKV_OK) die("prefill");
    const double s = seconds_since(t0);
    std::printf("{\"what\":\"prefill\",\"tokens\":%d,\"chunk\":%d,\"seconds\":%.3f,\"tokens_per_s\":%.0f,\"gpu_used_gib\":%.2f}\n",
                n, chunk, s, n / s, gpu_used_gib());
    std::fflush(stdout);
    if (decode_steps > 0) {
      hkv_step_token out[1];
      int32_t n_out = 0;
      const auto t1 = Clock::now();
      int steps = 0;
      for (; steps < decode_steps; steps++)
        if (hkv_step(ctx, out, 1, &n_out) != HKV_OK) die("step");
      const double ds = seconds_since(t1);
      std::printf("{\"what\":\"decode\",\"batch\":1,\"context\":%d,\"steps\":%d,\"tokens_per_s\":%.1f,\"gpu_used_gib\":%.2f}\n",
                  n, steps, steps / ds, gpu_used_gib());
      std::fflush(stdout);
    }
    hkv_context_free(ctx);
  }

  if (job.size() == 4) {
    const int docs = job[0], n = job[1], new_tokens = job[2], kv_size = job[3];
    hkv_context_params cp = hkv_context_default_params();
    cp.prefill_chunk = chunk;
    cp.max_sequences = docs;
    cp.kv_cache_bytes = 0;  // kv_cache_fraction of the free GPU memory
    hkv_context *ctx = nullptr;
    if (hkv_context_create(model, &cp, &ctx) != HKV_OK) die("context");
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = new_tokens;
    sp.temperature = job_temperature;
    hkv_kv_params kv = headkv;
    if (job_method == "snapkv") {
      kv = hkv_kv_default_params();
      kv.method = HKV_KV_SNAPKV;
      kv.kv_size = kv_size;
      kv.window = 32;
    }
    const auto t0 = Clock::now();
    for (int d = 0; d < docs; d++) {
      const std::vector<int32_t> prompt = random_prompt(n, info.vocab_size, 100 + d);
      int32_t id = -1, token = -1;
      if (hkv_seq_add(ctx, prompt.data(), n, &sp, &kv, &id) != HKV_OK) die("job seq_add");
      if (hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) != HKV_OK) die("job prefill");
    }
    const double prefill_s = seconds_since(t0);
    std::vector<hkv_step_token> out(docs);
    int32_t n_out = 0;
    int64_t generated = docs;  // first tokens come from prefill
    const auto t1 = Clock::now();
    while (hkv_step(ctx, out.data(), docs, &n_out) == HKV_OK && n_out > 0)
      for (int i = 0; i < n_out; i++) generated += out[i].token >= 0;
    const double decode_s = seconds_since(t1), total = seconds_since(t0);
    hkv_context_stats st;
    hkv_context_get_stats(ctx, &st);
    std::printf("{\"what\":\"job\",\"docs\":%d,\"prompt\":%d,\"new_tokens\":%d,\"method\":\"%s\",\"kv_size\":%d,"
                "\"temperature\":%g,\"prefill_s\":%.2f,\"decode_s\":%.2f,\"decode_tokens_per_s\":%.1f,\"docs_per_hour\":%.0f,"
                "\"kv_bytes_held\":%lld,\"gpu_used_gib\":%.2f}\n",
                docs, n, new_tokens, job_method.c_str(), kv_size, job_temperature, prefill_s, decode_s, (generated - docs) / decode_s, docs / total * 3600,
                (long long)st.kv_bytes_held, gpu_used_gib());
    std::fflush(stdout);
    hkv_context_free(ctx);
  }

  for (int n : longest) {
    double seconds = 0;
    std::string why;
    double used_gib = 0, pool_gib = 0;
    const bool ok = run_one_document(model, info, n, chunk, headkv, 16, seconds, why, used_gib, pool_gib);
    std::printf("{\"what\":\"longest\",\"tokens\":%d,\"completed\":%s,\"seconds\":%.1f,\"gpu_used_gib\":%.2f,"
                "\"kv_pool_gib\":%.2f%s%s%s}\n",
                n, ok ? "true" : "false", seconds, used_gib, pool_gib, ok ? "" : ",\"error\":\"", ok ? "" : why.c_str(),
                ok ? "" : "\"");
    std::fflush(stdout);
    if (!ok) break;
  }
  hkv_model_free(model);
  return 0;
}
