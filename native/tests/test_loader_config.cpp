// test_loader_config.cpp: config.json -> hkv::Config (loader/model_config.h): architectures,
// defaults, both RoPE forms, and one error per invalid field, each naming file and field.
#include <string>

#include "loader/model_config.h"
#include "test_loader_fixtures.h"
#include "test_loader_support.h"
#include "util/json.h"

using hkv::Architecture;
using hkv::Config;
using hkv::RopeType;
using hkv_test::expect_error;

static Config parse_text(const std::string &text) {
  return hkv::loader::parse_model_config(hkv::json::parse(text, "config.json"), "config.json");
}

// A config with the tiny dims, one line `extra` appended (starting with ",").
static Config parse_llama(const std::string &extra) { return parse_text(hkv_test::llama_config_json(hkv_test::TinyDims{}, extra)); }

static std::string base_fields() {
  return "\"num_hidden_layers\": 2, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_attention_heads\": 8, "
         "\"vocab_size\": 100";
}

static void test_llama_fields() {
  Config c = parse_llama("");
  CHECK(c.arch == Architecture::Llama);
  CHECK_EQ_STR(c.architecture_name, "LlamaForCausalLM");
  CHECK_EQ_NUM(c.n_layers, 2);
  CHECK_EQ_NUM(c.hidden, 16);
  CHECK_EQ_NUM(c.intermediate, 24);
  CHECK_EQ_NUM(c.n_heads, 4);
  CHECK_EQ_NUM(c.n_kv_heads, 2);
  CHECK_EQ_NUM(c.head_dim, 4);
  CHECK_EQ_NUM(c.vocab, 40);
  CHECK_EQ_NUM(c.max_positions, 128);
  CHECK_EQ_NUM(c.rms_eps, 1e-05f);
  CHECK(!c.attention_bias);
  CHECK(!c.tie_embeddings);
  CHECK_EQ_NUM(c.sliding_window, 0);
  CHECK_EQ_NUM(c.bos_token_id, 1);
  CHECK(c.eos_token_ids.size() == 1 && c.eos_token_ids[0] == 2);
  CHECK(c.rope.type == RopeType::Default);
  CHECK_EQ_NUM(c.rope.theta, 10000.0);
}

static void test_defaults_and_variants() {
  // model_type fallback, kv heads = heads, head_dim = hidden / heads, transformers defaults.
  Config c = parse_text("{\"model_type\": \"mistral\", " + base_fields() + "}");
  CHECK(c.arch == Architecture::Mistral);
  CHECK_EQ_STR(c.architecture_name, "MistralForCausalLM");
  CHECK_EQ_NUM(c.n_kv_heads, 8);
  CHECK_EQ_NUM(c.head_dim, 8);
  CHECK_EQ_NUM(c.max_positions, 131072);
  CHECK_EQ_NUM(c.sliding_window, 4096);
  CHECK_EQ_NUM(c.rms_eps, 1e-6f);
  CHECK_EQ_NUM(c.bos_token_id, -1);
  CHECK(c.eos_token_ids.empty());

  Config null_window = parse_text("{\"architectures\": [\"MistralForCausalLM\"], \"sliding_window\": null, " + base_fields() + "}");
  CHECK_EQ_NUM(null_window.sliding_window, 0);

  // Explicit head_dim that does not multiply out to hidden_size is legal (as in transformers).
  Config explicit_dim = parse_llama(", \"head_dim\": 8");
  CHECK_EQ_NUM(explicit_dim.head_dim, 8);
  CHECK_EQ_NUM(explicit_dim.q_dim(), 32);

  Config qwen = parse_text("{\"architectures\": [\"Qwen2ForCausalLM\"], \"tie_word_embeddings\": true, \"eos_token_id\": [5, 7], " +
                           base_fields() + ", \"num_key_value_heads\": 2}");
  CHECK(qwen.arch == Architecture::Qwen2);
  CHECK(qwen.attention_bias);
  CHECK(qwen.tie_embeddings);
  CHECK_EQ_NUM(qwen.n_kv_heads, 2);
  CHECK_EQ_NUM(qwen.group(), 4);
  CHECK_EQ_NUM(qwen.sliding_window, 0);
  CHECK_EQ_NUM(qwen.max_positions, 32768);
  CHECK(qwen.eos_token_ids.size() == 2 && qwen.eos_token_ids[0] == 5 && qwen.eos_token_ids[1] == 7);

  // Qwen2 slides only in layers >= max_window_layers (transformers' layer_types).
  Config qwen_window = parse_text("{\"architectures\": [\"Qwen2ForCausalLM\"], \"use_sliding_window\": true, "
                                  "\"sliding_window\": 1024, \"max_window_layers\": 1, " + base_fields() + "}");
  CHECK_EQ_NUM(qwen_window.sliding_window, 1024);
  CHECK_EQ_NUM(qwen_window.layer_window(0), 0);
  CHECK_EQ_NUM(qwen_window.layer_window(1), 1024);
  Config qwen_no_sliding_layer = parse_text("{\"architectures\": [\"Qwen2ForCausalLM\"], \"use_sliding_window\": true, "
                                            "\"sliding_window\": 1024, " + base_fields() + "}");  // default 28 >= 2 layers
  CHECK_EQ_NUM(qwen_no_sliding_layer.sliding_window, 0);
}

static void test_rope_forms() {
  const std::string llama3_fields =
      "\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192";
  Config v4 = parse_llama(", \"rope_scaling\": {\"rope_type\": \"llama3\", " + llama3_fields + "}, \"rope_theta\": 500000.0");
  Config v5 = parse_text(
      "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 2, \"hidden_size\": 16, \"intermediate_size\": 24, "
      "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 40, \"max_position_embeddings\": 128, "
      "\"rms_norm_eps\": 1e-05, \"bos_token_id\": 1, \"eos_token_id\": 2, "
      "\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0, " + llama3_fields + "}}");
  for (const Config *c : {&v4, &v5}) {
    CHECK(c->rope.type == RopeType::Llama3);
    CHECK_EQ_NUM(c->rope.theta, 500000.0);
    CHECK_EQ_NUM(c->rope.factor, 8.0);
    CHECK_EQ_NUM(c->rope.low_freq_factor, 1.0);
    CHECK_EQ_NUM(c->rope.high_freq_factor, 4.0);
    CHECK_EQ_NUM(c->rope.original_max_position, 8192);
  }
  // Legacy "type" key, linear scaling.
  Config linear = parse_llama(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}");
  CHECK(linear.rope.type == RopeType::Linear);
  CHECK_EQ_NUM(linear.rope.factor, 2.0);
  // 5.x default rope.
  Config v5_default = parse_llama(", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1000000.0}");
  CHECK(v5_default.rope.type == RopeType::Default);
  CHECK_EQ_NUM(v5_default.rope.theta, 1000000.0);
  // rope_scaling null = default.
  CHECK(parse_llama(", \"rope_scaling\": null").rope.type == RopeType::Default);
}

static void test_errors() {
  auto bad = [](const std::string &what, const std::string &text, hkv_status status, std::initializer_list<std::string> needles) {
    expect_error(what, [&] { parse_text(text); }, status, needles);
  };
  auto bad_llama = [&](const std::string &what, const std::string &extra, hkv_status status, std::initializer_list<std::string> needles) {
    bad(what, hkv_test::llama_config_json(hkv_test::TinyDims{}, extra), status, needles);
  };
  bad("unknown architecture", "{\"architectures\": [\"GPT2LMHeadModel\"], " + base_fields() + "}", HKV_ERR_UNSUPPORTED,
      {"config.json", "GPT2LMHeadModel"});
  bad("unknown model_type", "{\"model_type\": \"gpt2\", " + base_fields() + "}", HKV_ERR_UNSUPPORTED, {"config.json", "\"model_type\"", "gpt2"});
  bad("no architecture", "{" + base_fields() + "}", HKV_ERR_FORMAT, {"config.json", "\"architectures\""});
  bad("missing hidden_size",
      "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 2, \"intermediate_size\": 8, \"num_attention_heads\": 2, "
      "\"vocab_size\": 10}",
      HKV_ERR_FORMAT, {"config.json: missing required field \"hidden_size\""});
  bad("kv heads do not divide", "{\"architectures\": [\"LlamaForCausalLM\"], " + base_fields() + ", \"num_key_value_heads\": 3}",
      HKV_ERR_FORMAT, {"config.json: field \"num_key_value_heads\" (=3) must divide num_attention_heads (=8)"});
  bad("hidden not divisible", "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 2, \"hidden_size\": 60, "
      "\"intermediate_size\": 8, \"num_attention_heads\": 8, \"vocab_size\": 10}",
      HKV_ERR_FORMAT, {"config.json: field \"hidden_size\" (=60) must be divisible by num_attention_heads (=8)"});
  bad_llama("odd head_dim", ", \"head_dim\": 5", HKV_ERR_FORMAT, {"config.json: field \"head_dim\" (=5) must be even"});
  bad("zero layers (single key)", "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 0, \"hidden_size\": 64, "
      "\"intermediate_size\": 128, \"num_attention_heads\": 8, \"vocab_size\": 100}",
      HKV_ERR_FORMAT, {"config.json: field \"num_hidden_layers\" (=0) must be positive"});
  bad("float layers", "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 2.5, \"hidden_size\": 64, "
      "\"intermediate_size\": 128, \"num_attention_heads\": 8, \"vocab_size\": 100}",
      HKV_ERR_FORMAT, {"config.json: field \"num_hidden_layers\" must be an integer, got 2.5"});
  bad("string vocab", "{\"architectures\": [\"LlamaForCausalLM\"], \"num_hidden_layers\": 2, \"hidden_size\": 64, "
      "\"intermediate_size\": 128, \"num_attention_heads\": 8, \"vocab_size\": \"100\"}",
      HKV_ERR_FORMAT, {"config.json: field \"vocab_size\" must be an integer, got string \"100\""});
  bad_llama("yarn rope", ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", HKV_ERR_UNSUPPORTED,
            {"config.json: field \"rope_scaling.rope_type\"", "yarn"});
  bad_llama("dynamic rope (legacy type)", ", \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 4.0}", HKV_ERR_UNSUPPORTED,
            {"config.json: field \"rope_scaling.type\"", "dynamic"});
  bad_llama("longrope in rope_parameters", ", \"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 10000.0}",
            HKV_ERR_UNSUPPORTED, {"config.json: field \"rope_parameters.rope_type\"", "longrope"});
  bad_llama("llama3 without factor",
            ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
            "\"original_max_position_embeddings\": 8192}",
            HKV_ERR_FORMAT, {"config.json: missing required field \"rope_scaling.factor\""});
  bad_llama("llama3 high <= low",
            ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 4.0, "
            "\"original_max_position_embeddings\": 8192}",
            HKV_ERR_FORMAT, {"config.json: field \"rope_scaling.high_freq_factor\"", "greater than low_freq_factor"});
  bad_llama("rope_scaling without type", ", \"rope_scaling\": {\"factor\": 2.0}", HKV_ERR_FORMAT, {"config.json", "rope_scaling"});
  bad_llama("negative theta", ", \"rope_theta\": -1.0", HKV_ERR_FORMAT, {"config.json", "rope_theta"});
  bad_llama("gelu", ", \"hidden_act\": \"gelu\"", HKV_ERR_UNSUPPORTED, {"config.json: field \"hidden_act\"", "gelu"});
  bad_llama("llama attention_bias", ", \"attention_bias\": true", HKV_ERR_UNSUPPORTED, {"config.json: field \"attention_bias\"", "o_proj"});
  bad("negative eos in list", "{\"architectures\": [\"LlamaForCausalLM\"], \"eos_token_id\": [2, -1], " + base_fields() + "}",
      HKV_ERR_FORMAT, {"config.json: field \"eos_token_id\" (=-1)"});
  bad("eps zero", "{\"architectures\": [\"LlamaForCausalLM\"], \"rms_norm_eps\": 0, " + base_fields() + "}", HKV_ERR_FORMAT,
      {"config.json: field \"rms_norm_eps\""});
  bad("architectures not array", "{\"architectures\": \"LlamaForCausalLM\", " + base_fields() + "}", HKV_ERR_FORMAT,
      {"config.json: field \"architectures\" must be a non-empty array"});
  bad("not an object", "[1]", HKV_ERR_FORMAT, {"config.json: top level must be a JSON object"});
}

int main() {
  test_llama_fields();
  test_defaults_and_variants();
  test_rope_forms();
  test_errors();
  return hkv_test::finish("test_loader_config");
}
