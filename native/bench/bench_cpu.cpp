// bench_cpu.cpp: CPU throughput of the engine, next to the machine's memory-bandwidth roofline.
//
//   bench_cpu core   [--threads N]   prefill and batch-1 decode tokens/s of a ~125M-parameter
//                                    Llama-shape model (random fp32 weights written by this program)
//   bench_cpu headkv [--threads N] [--prompt N]
//                                    bytes held and decode tokens/s at batch 1, 8 and 32, full cache
//                                    vs headkv-r2 at kv_size 64 and 128, on one long prompt
//   bench_cpu prefill --model DIR [--threads N] [--prompt N]
//                                    full-cache prefill tokens/s of one random prompt on a model
//                                    folder (e.g. models/headkv-tiny), where long prompts are
//                                    dominated by attention
//
// Prints one JSON object per measurement on stdout (docs/benchmarks.md quotes them).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "headkv.hpp"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  const char *name;
  int layers, hidden, heads, kv_heads, intermediate, vocab, max_pos;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Writes a Llama folder with N(0, 0.02) fp32 weights: config.json + model.safetensors.
void write_model(const fs::path &dir, const Shape &s) {
  fs::create_directories(dir);
  const int hd = s.hidden / s.heads;
  std::ofstream(dir / "config.json") << "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\","
                                     << "\"hidden_size\":" << s.hidden << ",\"intermediate_size\":" << s.intermediate
                                     << ",\"num_hidden_layers\":" << s.layers << ",\"num_attention_heads\":" << s.heads
                                     << ",\"num_key_value_heads\":" << s.kv_heads << ",\"vocab_size\":" << s.vocab
                                     << ",\"max_position_embeddings\":" << s.max_pos
                                     << ",\"rms_norm_eps\":1e-5,\"rope_theta\":500000.0,\"tie_word_embeddings\":false,"
                                     << "\"bos_token_id\":1,\"eos_token_id\":2,\"torch_dtype\":\"float32\"}";
  struct T {
    std::string name;
    std::vector<int64_t> shape;
    bool ones;
  };
  std::vector<T> tensors = {{"model.embed_tokens.weight", {s.vocab, s.hidden}, false},
                            {"model.norm.weight", {s.hidden}, true},
                            {"lm_head.weight", {s.vocab, s.hidden}, false}};
  for (int l = 0; l < s.layers; l++) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    tensors.push_back({p + "input_layernorm.weight", {s.hidden}, true});
    tensors.push_back({p + "post_attention_layernorm.weight", {s.hidden}, true});
    tensors.push_back({p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}, false});
    tensors.push_back({p + "self_attn.k_proj.weight", {s.kv_heads * hd, s.hidden}, false});
    tensors.push_back({p + "self_attn.v_proj.weight", {s.kv_heads * hd, s.hidden}, false});
    tensors.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}, false});
    tensors.push_back({p + "mlp.gate_proj.weight", {s.intermediate, s.hidden}, false});
    tensors.push_back({p + "mlp.up_proj.weight", {s.intermediate, s.hidden}, false});
    tensors.push_back({p + "mlp.down_proj.weight", {s.hidden, s.intermediate}, false});
  }
  std::string header = "{";
  int64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); i++) {
    int64_t numel = 1;
    std::string shape;
    for (size_t d = 0; d < tensors[i].shape.size(); d++) {
      numel *= tensors[i].shape[d];
      shape += (d ? "," : "") + std::to_string(tensors[i].shape[d]);
    }
    header += (i ? "," : "") + std::string("\"") + tensors[i].name + "\":{\"dtype\":\"F32\",\"shape\":[" + shape +
              "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + numel * 4) + "]}";
    offset += numel * 4;
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const uint64_t header_len = header.size();
  out.write(reinterpret_cast<const char *>(&header_len), 8);
  out.write(header.data(), header.size());
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> buf;
  for (const auto &t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    buf.resize(numel);
    for (auto &v : buf) v = t.ones ? 1.f : normal(rng);
    out.write(reinterpret_cast<const char *>(buf.data()), numel * 4);
  }
}

// Read bandwidth of this machine: every thread sums its slice of a 1 GiB array; best of 5.
double measure_read_bandwidth(int threads) {
  const size_t n = (size_t(1) << 30) / sizeof(float);
  std::vector<float> data(n, 1.f);
  double best = 0;
  for (int rep = 0; rep < 5; rep++) {
    std::vector<double> sums(threads);
    const auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++)
      ts.emplace_back([&, t] {
        const size_t b = n * t / threads, e = n * (t + 1) / threads;
        // Four independent 8-wide accumulators: the loop is limited by loads, not add latency.
        double s = 0;
#if defined(__AVX2__)
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t i = b;
        for (; i + 32 <= e; i += 32) {
          a0 = _mm256_add_ps(a0, _mm256_loadu_ps(&data[i]));
          a1 = _mm256_add_ps(a1, _mm256_loadu_ps(&data[i + 8]));
          a2 = _mm256_add_ps(a2, _mm256_loadu_ps(&data[i + 16]));
          a3 = _mm256_add_ps(a3, _mm256_loadu_ps(&data[i + 24]));
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (float l : lanes) s += l;
#else
        for (size_t i = b; i < e; i++) s += data[i];
#endif
        sums[t] = s;
      });
    for (auto &t : ts) t.join();
    const double s = seconds_since(t0);
    if (sums[0] < 0) std::printf("impossible\n");
    best = std::max(best, n * sizeof(float) / s);
  }
  return best;
}

headkv::Model open_model(const fs::path &dir, int threads) {
  hkv_model_params mp = hkv_model_default_params();
  mp.n_threads = threads;
  return headkv::Model(dir.string(), mp);
}

std::vector<int32_t> random_prompt(int n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p(n);
  for (auto &t : p) t = 3 + rng() % (vocab - 3);
  return p;
}

void bench_core(const fs::path &work, int threads) {
  const Shape s = {"bench-125m", 12, 768, 12, 4, 2048, 32000, 4096};
  const fs::path dir = work / s.name;
  if (!fs::exists(dir / "model.safetensors")) write_model(dir, s);
  const headkv::Model model = open_model(dir, threads);
  const hkv_model_info info = model.info();
  const double bw = measure_read_bandwidth(threads);
  const double weight_bytes = double(info.n_params) * 4;
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = int64_t(256) << 20;
  headkv::Context ctx(model, cp);
  for (int n_prompt : {128, 512, 2048}) {
    const auto prompt = random_prompt(n_prompt, s.vocab, 7);
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = 33;
    hkv_kv_params kv = hkv_kv_default_params();
    const int32_t id = ctx.add(prompt, sp, kv);
    auto t0 = Clock::now();
    ctx.prefill(id);
    const double prefill_s = seconds_since(t0);
    std::vector<hkv_step_token> out;
    ctx.step(out, 1);  // warm-up step
    t0 = Clock::now();
    int steps = 0;
    for (ctx.step(out, 1); out.size() == 1 && out[0].token >= 0; ctx.step(out, 1)) steps++;
    const double decode_s = seconds_since(t0);
    // Bytes one decode step must read: every weight once, plus this sequence's K/V cache.
    const double kv_bytes = double(n_prompt + 16) * info.n_layers * info.n_kv_heads * info.head_dim * 2 * 4;
    const double roofline = bw / (weight_bytes + kv_bytes);
    std::printf(
        "{\"bench\":\"core\",\"model\":\"%s\",\"n_params\":%lld,\"threads\":%d,\"prompt_tokens\":%d,"
        "\"prefill_tokens_per_s\":%.1f,\"decode_tokens_per_s\":%.2f,\"read_bandwidth_gb_s\":%.2f,"
        "\"decode_roofline_tokens_per_s\":%.2f,\"decode_fraction_of_roofline\":%.3f}\n",
        s.name, (long long)info.n_params, threads, n_prompt, n_prompt / prefill_s, steps / decode_s, bw / 1e9, roofline,
        (steps / decode_s) / roofline);
    std::fflush(stdout);
    ctx.remove(id);
  }
}

void bench_headkv(const fs::path &work, int threads, int n_prompt) {
  const Shape s = {"bench-small-long", 4, 256, 8, 2, 768, 4096, 32768};
  const fs::path dir = work / s.name;
  if (!fs::exists(dir / "model.safetensors")) write_model(dir, s);
  const headkv::Model model = open_model(dir, threads);
  const hkv_model_info info = model.info();
  // A skewed synthetic importance profile (a few heads matter a lot), seeded.
  std::mt19937 rng(3);
  std::lognormal_distribution<float> skew(0.f, 1.5f);
  std::vector<float> scores(size_t(info.n_layers) * info.n_heads);
  for (auto &v : scores) v = skew(rng);

  struct Method {
    const char *name;
    hkv_kv_method method;
    int kv_size;
  };
  // Per method, one context: one prompt is prefilled, then the batch grows to 8 and 32 by
  // forking it (each fork holds its own copy of the kept cache, as a separate document would);
  // after each growth, the kv bytes held and 32 decode steps of the whole batch are measured.
  for (const Method method : {Method{"full", HKV_KV_FULL, 0}, Method{"headkv-r2", HKV_KV_HEADKV, 128},
                              Method{"headkv-r2", HKV_KV_HEADKV, 64}}) {
    hkv_context_params cp = hkv_context_default_params();
    cp.max_sequences = 32;
    cp.kv_cache_bytes = int64_t(3) << 30;
    cp.prefill_chunk = 1024;
    headkv::Context ctx(model, cp);
    hkv_sampling_params sp = hkv_sampling_default_params();
    sp.max_new_tokens = 3 * 33 + 1;
    hkv_kv_params kv = hkv_kv_default_params();
    kv.method = method.method;
    if (method.kv_size) kv.kv_size = method.kv_size;
    kv.head_scores = scores.data();
    const auto prompt = random_prompt(n_prompt, s.vocab, 100);
    const int32_t first_id = ctx.add(prompt, sp, kv);
    const auto t_prefill = Clock::now();
    ctx.prefill(first_id);
    const double prefill_s = seconds_since(t_prefill);
    int active = 1;
    for (int batch : {1, 8, 32}) {
      for (; active < batch; active++) ctx.fork(first_id, sp);
      const hkv_context_stats st = ctx.stats();
      std::vector<hkv_step_token> out;
      ctx.step(out, batch);  // warm-up
      int tokens = 0;
      const auto t0 = Clock::now();
      for (int step = 0; step < 32; step++) {
        ctx.step(out, batch);
        tokens += (int)out.size();
      }
      const double decode_s = seconds_since(t0);
      std::printf(
          "{\"bench\":\"headkv\",\"model\":\"%s\",\"threads\":%d,\"prompt_tokens\":%d,\"method\":\"%s\",\"kv_size\":%d,"
          "\"batch\":%d,\"kv_bytes_held\":%lld,\"kv_bytes_held_per_seq\":%lld,\"prefill_s\":%.2f,"
          "\"decode_tokens_per_s\":%.1f}\n",
          s.name, threads, n_prompt, method.name, method.kv_size, batch, (long long)st.kv_bytes_held,
          (long long)(st.kv_bytes_held / batch), prefill_s, tokens / decode_s);
      std::fflush(stdout);
    }
  }
}

void bench_prefill(const fs::path &model_dir, int threads, int n_prompt) {
  const headkv::Model model = open_model(model_dir, threads);
  const hkv_model_info info = model.info();
  hkv_context_params cp = hkv_context_default_params();
  cp.kv_cache_bytes = int64_t(1) << 30;
  headkv::Context ctx(model, cp);
  hkv_sampling_params sp = hkv_sampling_default_params();
  sp.max_new_tokens = 1;
  const auto prompt = random_prompt(n_prompt, info.vocab_size, 11);
  const int32_t id = ctx.add(prompt, sp, hkv_kv_default_params());
  const auto t0 = Clock::now();
  ctx.prefill(id);
  const double prefill_s = seconds_since(t0);
  std::printf("{\"bench\":\"prefill\",\"model\":\"%s\",\"threads\":%d,\"prompt_tokens\":%d,\"prefill_s\":%.2f,"
              "\"prefill_tokens_per_s\":%.1f}\n",
              model_dir.filename().string().c_str(), threads, n_prompt, prefill_s, n_prompt / prefill_s);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_cpu core|headkv|prefill [--threads N] [--prompt N] [--work DIR] [--model DIR]\n");
    return 2;
  }
  const std::string mode = argv[1];
  int threads = (int)std::max(1u, std::thread::hardware_concurrency());
  int prompt = 16384;
  fs::path work = fs::temp_directory_path() / "headkv-bench";
  fs::path model_dir;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--threads") threads = std::atoi(argv[i + 1]);
    else if (flag == "--prompt") prompt = std::atoi(argv[i + 1]);
    else if (flag == "--work") work = argv[i + 1];
    else if (flag == "--model") model_dir = argv[i + 1];
    else {
      std::fprintf(stderr, "bench_cpu: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    if (mode == "core") bench_core(work, threads);
    else if (mode == "headkv") bench_headkv(work, threads, prompt);
    else if (mode == "prefill") {
      if (model_dir.empty()) {
        std::fprintf(stderr, "bench_cpu: prefill needs --model DIR\n");
        return 2;
      }
      bench_prefill(model_dir, threads, prompt);
    } else {
      std::fprintf(stderr, "bench_cpu: unknown mode %s (core|headkv|prefill)\n", mode.c_str());
      return 2;
    }
  } catch (const headkv::Error &e) {
    std::fprintf(stderr, "bench_cpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
