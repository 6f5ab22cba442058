// test_loader_hf_fixtures.cpp: loads the checkpoints that transformers itself wrote
// (test/fixtures/models, made by tools/reference/make_fixtures.py): every architecture and dtype
// loads; the f16/bf16 copies equal the f32 model within their rounding; the sharded copy and
// the transformers-4.x config copy equal their originals exactly.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "model.h"
#include "test_loader_support.h"

namespace {

const std::string kFixtures = "test/fixtures/models/";

std::unique_ptr<hkv::LoadedModel> load(const std::string &name) {
  try {
    return hkv::load_model(kFixtures + name);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "FAIL loading %s%s: %s\n", kFixtures.c_str(), name.c_str(), e.what());
    ++hkv_test::failures();
    return nullptr;
  }
}

// Every weight tensor of a model as (name, pointer, element count).
struct View {
  std::string name;
  const float *data;
  size_t count;
};

std::vector<View> views(const hkv::LoadedModel &m) {
  const hkv::Config &c = m.config;
  const size_t h = c.hidden, q = c.q_dim(), kv = c.kv_dim(), f = c.intermediate, v = c.vocab;
  std::vector<View> out = {{"embed", m.weights.embed, v * h}, {"final_norm", m.weights.final_norm, h}, {"lm_head", m.weights.lm_head, v * h}};
  for (size_t i = 0; i < m.weights.layers.size(); ++i) {
    const hkv::LayerWeights &l = m.weights.layers[i];
    const std::string p = "layer" + std::to_string(i) + ".";
    out.push_back({p + "attn_norm", l.attn_norm, h});
    out.push_back({p + "wq", l.wq, q * h});
    out.push_back({p + "wk", l.wk, kv * h});
    out.push_back({p + "wv", l.wv, kv * h});
    out.push_back({p + "wo", l.wo, h * q});
    out.push_back({p + "ffn_norm", l.ffn_norm, h});
    out.push_back({p + "w_gate", l.w_gate, f * h});
    out.push_back({p + "w_up", l.w_up, f * h});
    out.push_back({p + "w_down", l.w_down, h * f});
    if (c.attention_bias) {
      out.push_back({p + "bq", l.bq, q});
      out.push_back({p + "bk", l.bk, kv});
      out.push_back({p + "bv", l.bv, kv});
    }
  }
  return out;
}

// |a - b| <= max(|a| * rel, abs) for every element: rel is half an ulp of the narrower dtype,
// abs half its smallest subnormal step (f16 subnormals below 2^-14); both 0: exact.
void compare(const std::string &what, const hkv::LoadedModel &a, const hkv::LoadedModel &b, double rel, double abs) {
  std::vector<View> va = views(a), vb = views(b);
  CHECK(va.size() == vb.size());
  for (size_t t = 0; t < va.size() && t < vb.size(); ++t) {
    for (size_t i = 0; i < va[t].count; ++i) {
      double x = va[t].data[i], y = vb[t].data[i];
      if (std::fabs(x - y) > std::fmax(std::fabs(x) * rel, abs)) {
        std::fprintf(stderr, "FAIL %s: %s[%zu] = %.9g vs %.9g (allowed: relative %g, absolute %g)\n", what.c_str(),
                     va[t].name.c_str(), i, x, y, rel, abs);
        ++hkv_test::failures();
        break;
      }
    }
  }
}

}  // namespace

int main() {
  auto f32 = load("llama-f32");
  auto f16 = load("llama-f16");
  auto bf16 = load("llama-bf16");
  auto sharded = load("llama-sharded");
  auto rope_v5 = load("llama3-rope");
  auto rope_v4 = load("llama-config-v4");
  auto headdim = load("llama-headdim");
  auto mistral = load("mistral");
  auto qwen2 = load("qwen2");
  if (!f32 || !f16 || !bf16 || !sharded || !rope_v5 || !rope_v4 || !headdim || !mistral || !qwen2) return hkv_test::finish("test_loader_hf_fixtures");

  CHECK_EQ_STR(f32->weights_dtype, "f32");
  CHECK_EQ_STR(f16->weights_dtype, "f16");
  CHECK_EQ_STR(bf16->weights_dtype, "bf16");
  CHECK_EQ_NUM(f16->n_params, f32->n_params);
  compare("f16 vs f32", *f32, *f16, std::ldexp(1.0, -11), std::ldexp(1.0, -25));
  compare("bf16 vs f32", *f32, *bf16, std::ldexp(1.0, -8), 0.0);
  compare("sharded vs f32", *f32, *sharded, 0.0, 0.0);
  CHECK(sharded->fingerprint != f32->fingerprint);
  CHECK(f16->fingerprint != f32->fingerprint);

  // The same model saved by transformers 5.x (rope_parameters) and 4.x (rope_scaling).
  compare("config 4.x vs 5.x", *rope_v5, *rope_v4, 0.0, 0.0);
  const hkv::RopeConfig &r5 = rope_v5->config.rope, &r4 = rope_v4->config.rope;
  CHECK(r5.type == hkv::RopeType::Llama3 && r4.type == hkv::RopeType::Llama3);
  CHECK_EQ_NUM(r5.theta, 500000.0);
  CHECK_EQ_NUM(r4.theta, r5.theta);
  CHECK_EQ_NUM(r4.factor, r5.factor);
  CHECK_EQ_NUM(r4.low_freq_factor, r5.low_freq_factor);
  CHECK_EQ_NUM(r4.high_freq_factor, r5.high_freq_factor);
  CHECK_EQ_NUM(r4.original_max_position, r5.original_max_position);
  CHECK_EQ_NUM(r5.original_max_position, 64);

  // head_dim (32) larger than hidden_size / num_attention_heads (16).
  CHECK_EQ_NUM(headdim->config.head_dim, 32);
  CHECK_EQ_NUM(headdim->config.q_dim(), 128);

  CHECK(mistral->config.arch == hkv::Architecture::Mistral);
  CHECK_EQ_NUM(mistral->config.sliding_window, 0);  // "sliding_window": null

  CHECK(qwen2->config.arch == hkv::Architecture::Qwen2);
  CHECK(qwen2->config.tie_embeddings);
  CHECK(qwen2->weights.lm_head == qwen2->weights.embed);
  CHECK(qwen2->weights.layers[0].bq != nullptr && qwen2->weights.layers[2].bv != nullptr);
  CHECK_EQ_NUM(qwen2->config.rope.theta, 1000000.0);
  CHECK_EQ_NUM(qwen2->config.bos_token_id, 997);
  CHECK(qwen2->config.eos_token_ids.size() == 1 && qwen2->config.eos_token_ids[0] == 999);
  return hkv_test::finish("test_loader_hf_fixtures");
}
