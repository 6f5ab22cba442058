// model_config.cpp: config.json fields (model_config.h). Defaults are those of LlamaConfig,
// MistralConfig and Qwen2Config in transformers for the fields checkpoints may omit; the shape
// fields are required because a default there would silently mismatch the weights.
#include "loader/model_config.h"

#include <cmath>
#include <limits>

#include "error.h"
#include "loader/json_fields.h"
#include "loader/rope_config.h"

namespace hkv::loader {

namespace {

struct ArchitectureInfo {
  Architecture arch;
  const char *class_name;
  const char *model_type;
  int default_max_positions;
};

constexpr ArchitectureInfo kArchitectures[] = {
    {Architecture::Llama, "LlamaForCausalLM", "llama", 2048},
    {Architecture::Mistral, "MistralForCausalLM", "mistral", 4096 * 32},
    {Architecture::Qwen2, "Qwen2ForCausalLM", "qwen2", 32768},
};

const ArchitectureInfo &resolve_architecture(const JsonFields &fields) {
  if (const json::Value *archs = fields.find("architectures")) {
    if (!archs->is_array() || archs->as_array().empty() || !archs->as_array()[0].is_string()) {
      fields.fail(HKV_ERR_FORMAT, "architectures", "must be a non-empty array of strings, got " + describe_json(*archs));
    }
    const std::string &name = archs->as_array()[0].as_string();
    for (const ArchitectureInfo &info : kArchitectures) {
      if (name == info.class_name) return info;
    }
    throw Error(HKV_ERR_UNSUPPORTED, fields.file() + ": architecture \"" + name +
                                         "\" (field \"architectures\") is not supported; supported: "
                                         "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
  }
  if (!fields.has("model_type")) {
    throw Error(HKV_ERR_FORMAT, fields.file() + ": missing required field \"architectures\" (and no \"model_type\")");
  }
  std::string model_type = fields.string("model_type");
  for (const ArchitectureInfo &info : kArchitectures) {
    if (model_type == info.model_type) return info;
  }
  fields.fail(HKV_ERR_UNSUPPORTED, "model_type", "= \"" + model_type + "\" is not supported (supported: llama, mistral, qwen2)");
}

int to_int(const JsonFields &fields, const std::string &name, int64_t v, int64_t minimum) {
  if (v < minimum || v > std::numeric_limits<int>::max()) {
    fields.fail(HKV_ERR_FORMAT, name,
                "(=" + std::to_string(v) + ") must be " + (minimum > 0 ? "positive" : "non-negative") + " and fit in int32");
  }
  return static_cast<int>(v);
}

int positive_int(const JsonFields &fields, const std::string &name) { return to_int(fields, name, fields.integer(name), 1); }

int positive_int_or(const JsonFields &fields, const std::string &name, int fallback) {
  return to_int(fields, name, fields.integer_or(name, fallback), 1);
}

// A token id: integer >= 0.
int token_id(const JsonFields &fields, const std::string &name, const json::Value &value) {
  return to_int(fields, name, fields.as_integer(name, value), 0);
}

void read_special_tokens(const JsonFields &fields, Config &cfg) {
  if (const json::Value *bos = fields.find("bos_token_id")) cfg.bos_token_id = token_id(fields, "bos_token_id", *bos);
  if (const json::Value *eos = fields.find("eos_token_id")) {
    if (eos->is_array()) {
      for (const json::Value &id : eos->as_array()) cfg.eos_token_ids.push_back(token_id(fields, "eos_token_id", id));
    } else {
      cfg.eos_token_ids.push_back(token_id(fields, "eos_token_id", *eos));
    }
  }
}

// Attention biases: Qwen2 always has q/k/v biases (and none on o_proj). Llama's
// attention_bias adds biases to q, k, v AND o_proj; Weights has no o_proj bias, so such
// checkpoints are refused rather than computed wrongly. Mistral has no biases.
void read_biases(const JsonFields &fields, Config &cfg) {
  if (cfg.arch == Architecture::Qwen2) {
    cfg.attention_bias = true;
    return;
  }
  if (cfg.arch == Architecture::Llama) {
    if (fields.boolean_or("attention_bias", false)) {
      fields.fail(HKV_ERR_UNSUPPORTED, "attention_bias", "= true is not supported (it adds an o_proj bias the engine does not implement)");
    }
    if (fields.boolean_or("mlp_bias", false)) {
      fields.fail(HKV_ERR_UNSUPPORTED, "mlp_bias", "= true is not supported");
    }
  }
}

// Sliding-window attention: Mistral's sliding_window (absent: MistralConfig's default 4096;
// null: off) in every layer; Qwen2 uses its sliding_window only when use_sliding_window is true,
// and then (as Qwen2Config's layer_types) only in layers from max_window_layers (default 28)
// on, so none slides when max_window_layers >= num_hidden_layers.
void read_sliding_window(const json::Value &root, const JsonFields &fields, Config &cfg) {
  if (cfg.arch == Architecture::Mistral) {
    const json::Value *raw = root.find("sliding_window");
    if (raw == nullptr) {
      cfg.sliding_window = 4096;
    } else if (!raw->is_null()) {
      cfg.sliding_window = to_int(fields, "sliding_window", fields.as_integer("sliding_window", *raw), 0);
    }
  } else if (cfg.arch == Architecture::Qwen2 && fields.boolean_or("use_sliding_window", false)) {
    cfg.sliding_window = to_int(fields, "sliding_window", fields.integer_or("sliding_window", 4096), 0);
    cfg.sliding_window_first_layer =
        to_int(fields, "max_window_layers", fields.integer_or("max_window_layers", 28), 0);
    if (cfg.sliding_window_first_layer >= cfg.n_layers) cfg.sliding_window = cfg.sliding_window_first_layer = 0;
  }
}

}  // namespace

Config parse_model_config(const json::Value &root, const std::string &file) {
  if (!root.is_object()) throw Error(HKV_ERR_FORMAT, file + ": top level must be a JSON object, got " + describe_json(root));
  JsonFields fields(root, file);
  const ArchitectureInfo &arch = resolve_architecture(fields);

  Config cfg;
  cfg.arch = arch.arch;
  cfg.architecture_name = arch.class_name;
  cfg.n_layers = positive_int(fields, "num_hidden_layers");
  cfg.hidden = positive_int(fields, "hidden_size");
  cfg.intermediate = positive_int(fields, "intermediate_size");
  cfg.n_heads = positive_int(fields, "num_attention_heads");
  cfg.n_kv_heads = positive_int_or(fields, "num_key_value_heads", cfg.n_heads);
  cfg.vocab = positive_int(fields, "vocab_size");
  cfg.max_positions = positive_int_or(fields, "max_position_embeddings", arch.default_max_positions);

  if (cfg.n_heads % cfg.n_kv_heads != 0) {
    fields.fail(HKV_ERR_FORMAT, "num_key_value_heads",
                "(=" + std::to_string(cfg.n_kv_heads) + ") must divide num_attention_heads (=" + std::to_string(cfg.n_heads) + ")");
  }
  if (fields.has("head_dim")) {
    cfg.head_dim = positive_int(fields, "head_dim");
  } else {
    if (cfg.hidden % cfg.n_heads != 0) {
      fields.fail(HKV_ERR_FORMAT, "hidden_size",
                  "(=" + std::to_string(cfg.hidden) + ") must be divisible by num_attention_heads (=" +
                      std::to_string(cfg.n_heads) + ") when head_dim is absent");
    }
    cfg.head_dim = cfg.hidden / cfg.n_heads;
  }
  if (cfg.head_dim % 2 != 0) {
    fields.fail(HKV_ERR_FORMAT, "head_dim", "(=" + std::to_string(cfg.head_dim) + ") must be even: rotary embeddings rotate pairs");
  }
  if (static_cast<int64_t>(cfg.n_heads) * cfg.head_dim > std::numeric_limits<int>::max()) {
    fields.fail(HKV_ERR_FORMAT, "head_dim", "(=" + std::to_string(cfg.head_dim) + ") times num_attention_heads overflows int32");
  }

  double eps = fields.number_or("rms_norm_eps", 1e-6);
  if (!(eps > 0.0) || !std::isfinite(eps) || eps > 1.0) {
    fields.fail(HKV_ERR_FORMAT, "rms_norm_eps", "(=" + std::to_string(eps) + ") must be in (0, 1]");
  }
  cfg.rms_eps = static_cast<float>(eps);

  std::string act = fields.string_or("hidden_act", "silu");
  if (act != "silu") fields.fail(HKV_ERR_UNSUPPORTED, "hidden_act", "= \"" + act + "\" is not supported (only silu)");

  read_biases(fields, cfg);
  cfg.tie_embeddings = fields.boolean_or("tie_word_embeddings", false);
  read_sliding_window(root, fields, cfg);
  read_special_tokens(fields, cfg);
  cfg.rope = parse_rope_config(root, file);
  return cfg;
}

}  // namespace hkv::loader
