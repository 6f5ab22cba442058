// model.h: the model's Config and Weights (llm.c style), shared by the loader and the backends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hkv {

enum class RopeType { Default, Llama3, Linear };

struct RopeConfig {
  RopeType type = RopeType::Default;
  double theta = 10000.0;
  double factor = 1.0;                // llama3 / linear: scaling factor
  double low_freq_factor = 1.0;       // llama3
  double high_freq_factor = 4.0;      // llama3
  int original_max_position = 8192;   // llama3: original_max_position_embeddings
};

enum class Architecture { Llama, Mistral, Qwen2 };

struct Config {
  Architecture arch = Architecture::Llama;
  std::string architecture_name;      // as written in config.json "architectures"[0]
  int n_layers = 0;                   // num_hidden_layers
  int hidden = 0;                     // hidden_size
  int intermediate = 0;               // intermediate_size
  int n_heads = 0;                    // num_attention_heads (query heads)
  int n_kv_heads = 0;                 // num_key_value_heads (GQA groups)
  int head_dim = 0;                   // head_dim, or hidden / n_heads when absent
  int vocab = 0;                      // vocab_size
  int max_positions = 0;              // max_position_embeddings
  float rms_eps = 1e-6f;              // rms_norm_eps
  bool attention_bias = false;        // q/k/v projections carry a bias (Qwen2; Llama attention_bias)
  bool tie_embeddings = false;        // lm_head shares embed_tokens
  int sliding_window = 0;             // Mistral/Qwen2 sliding window; 0 = none (CPU only: docs/engine.md)
  int sliding_window_first_layer = 0; // layers from this one on slide (Qwen2's max_window_layers)
  RopeConfig rope;
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  int q_dim() const { return n_heads * head_dim; }      // width of Q
  int kv_dim() const { return n_kv_heads * head_dim; }  // width of K and of V
  int group() const { return n_heads / n_kv_heads; }    // query heads per KV head
  // The sliding window of one layer; 0 = the layer attends every earlier token.
  int layer_window(int layer) const { return layer >= sliding_window_first_layer ? sliding_window : 0; }
};

// One decoder layer. Matrices are row-major [out, in] as stored by PyTorch's nn.Linear, fp32.
struct LayerWeights {
  const float *attn_norm = nullptr;   // [hidden]            input_layernorm.weight
  const float *wq = nullptr;          // [q_dim, hidden]      self_attn.q_proj.weight
  const float *wk = nullptr;          // [kv_dim, hidden]     self_attn.k_proj.weight
  const float *wv = nullptr;          // [kv_dim, hidden]     self_attn.v_proj.weight
  const float *bq = nullptr;          // [q_dim]   or null    self_attn.q_proj.bias
  const float *bk = nullptr;          // [kv_dim]  or null
  const float *bv = nullptr;          // [kv_dim]  or null
  const float *wo = nullptr;          // [hidden, q_dim]      self_attn.o_proj.weight
  const float *ffn_norm = nullptr;    // [hidden]             post_attention_layernorm.weight
  const float *w_gate = nullptr;      // [intermediate, hidden] mlp.gate_proj.weight
  const float *w_up = nullptr;        // [intermediate, hidden] mlp.up_proj.weight
  const float *w_down = nullptr;      // [hidden, intermediate] mlp.down_proj.weight
};

struct Weights {
  const float *embed = nullptr;       // [vocab, hidden]      model.embed_tokens.weight
  std::vector<LayerWeights> layers;   // [n_layers]
  const float *final_norm = nullptr;  // [hidden]             model.norm.weight
  const float *lm_head = nullptr;     // [vocab, hidden]      lm_head.weight (== embed when tied)
};

// Owns the storage behind Weights: fp32 tensors either mapped straight from f32 safetensors or
// converted from f16/bf16 into owned buffers at load time.
class WeightStore {
 public:
  virtual ~WeightStore() = default;
};

struct LoadedModel {
  Config config;
  Weights weights;
  std::string weights_dtype;          // "f32" | "f16" | "bf16" (of the checkpoint)
  std::string fingerprint;            // sha256 hex over config.json and every safetensors header
  int64_t n_params = 0;
  std::unique_ptr<WeightStore> store; // keeps the mappings/buffers alive
};

// Loads a Hugging Face model folder. Throws hkv::Error (error.h) naming the file and field.
std::unique_ptr<LoadedModel> load_model(const std::string &dir);

}  // namespace hkv
