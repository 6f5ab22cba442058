// test_loader_fixtures.h: writes tiny Hugging Face model folders (config.json + safetensors,
// single-file or sharded) with seeded random weights, for the loader tests. Weight values are
// k/256 with |k| < 256, exactly representable in f16 and bf16, so loads compare exactly.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace hkv_test {

struct TinyDims {
  int n_layers = 2, hidden = 16, intermediate = 24, n_heads = 4, n_kv_heads = 2, head_dim = 4, vocab = 40;
};

inline std::string llama_config_json(const TinyDims &d, const std::string &extra = "") {
  return "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
         "  \"num_hidden_layers\": " + std::to_string(d.n_layers) + ",\n  \"hidden_size\": " + std::to_string(d.hidden) +
         ",\n  \"intermediate_size\": " + std::to_string(d.intermediate) +
         ",\n  \"num_attention_heads\": " + std::to_string(d.n_heads) +
         ",\n  \"num_key_value_heads\": " + std::to_string(d.n_kv_heads) + ",\n  \"vocab_size\": " + std::to_string(d.vocab) +
         ",\n  \"max_position_embeddings\": 128,\n  \"rms_norm_eps\": 1e-05,\n"
         "  \"bos_token_id\": 1,\n  \"eos_token_id\": 2,\n  \"tie_word_embeddings\": false" + extra + "\n}\n";
}

struct FixtureTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // the fp32 truth
  std::string dtype = "F32";  // storage dtype: F32, F16, BF16, or another name (raw bytes = numel)
};

inline uint16_t f32_to_f16_exact(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  uint32_t sign = (b >> 16) & 0x8000u;
  if ((b & 0x7fffffffu) == 0) return static_cast<uint16_t>(sign);
  int exp = static_cast<int>((b >> 23) & 0xff) - 127 + 15;  // fixture values are normal in f16
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | ((b >> 13) & 0x3ffu));
}

inline std::string tensor_bytes(const FixtureTensor &t) {
  std::string out;
  for (float v : t.values) {
    if (t.dtype == "F32") {
      out.append(reinterpret_cast<const char *>(&v), 4);
    } else if (t.dtype == "F16" || t.dtype == "BF16") {
      uint32_t b;
      std::memcpy(&b, &v, 4);
      uint16_t h = t.dtype == "F16" ? f32_to_f16_exact(v) : static_cast<uint16_t>(b >> 16);
      out.append(reinterpret_cast<const char *>(&h), 2);
    } else {
      out.push_back(static_cast<char>(v * 100));  // one byte per element (I8, U8, ...)
    }
  }
  return out;
}

inline std::string shape_json(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// A safetensors file from a header text and a data section; the header is space-padded to a
// multiple of `align` bytes (8 as the reference writer does; other values misalign the data).
inline std::string safetensors_from_header(std::string header, const std::string &data, size_t align = 8) {
  while (align > 1 && header.size() % align != 0) header += ' ';
  uint64_t n = header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

inline std::string safetensors_file(const std::vector<FixtureTensor> &tensors, size_t align = 8) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}", data;
  for (const FixtureTensor &t : tensors) {
    std::string bytes = tensor_bytes(t);
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + shape_json(t.shape) +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + bytes.size()) + "]}";
    data += bytes;
  }
  return safetensors_from_header(header + "}", data, align);
}

// The state dict of a Llama-style model with `d`'s dimensions (Qwen2 biases when `biases`).
inline std::vector<FixtureTensor> model_tensors(const TinyDims &d, uint32_t seed, bool biases = false, bool lm_head = true) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> k(-255, 255);
  std::vector<FixtureTensor> out;
  auto add = [&](const std::string &name, std::vector<int64_t> shape) {
    FixtureTensor t{name, shape, {}};
    int64_t n = 1;
    for (int64_t s : shape) n *= s;
    for (int64_t i = 0; i < n; ++i) t.values.push_back(static_cast<float>(k(rng)) / 256.0f);
    out.push_back(std::move(t));
  };
  const int64_t h = d.hidden, q = int64_t(d.n_heads) * d.head_dim, kv = int64_t(d.n_kv_heads) * d.head_dim, f = d.intermediate;
  add("model.embed_tokens.weight", {d.vocab, h});
  for (int i = 0; i < d.n_layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {h});
    add(p + "self_attn.q_proj.weight", {q, h});
    add(p + "self_attn.k_proj.weight", {kv, h});
    add(p + "self_attn.v_proj.weight", {kv, h});
    if (biases) {
      add(p + "self_attn.q_proj.bias", {q});
      add(p + "self_attn.k_proj.bias", {kv});
      add(p + "self_attn.v_proj.bias", {kv});
    }
    add(p + "self_attn.o_proj.weight", {h, q});
    add(p + "post_attention_layernorm.weight", {h});
    add(p + "mlp.gate_proj.weight", {f, h});
    add(p + "mlp.up_proj.weight", {f, h});
    add(p + "mlp.down_proj.weight", {h, f});
  }
  add("model.norm.weight", {h});
  if (lm_head) add("lm_head.weight", {d.vocab, h});
  return out;
}

inline void set_dtype(std::vector<FixtureTensor> &tensors, const std::string &dtype) {
  for (FixtureTensor &t : tensors) t.dtype = dtype;
}

inline void write_file(const std::filesystem::path &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Writes `tensors` as model.safetensors, or, with shards > 1, round-robin into
// model-0000i-of-0000n.safetensors plus model.safetensors.index.json.
inline void write_model(const std::filesystem::path &dir, const std::string &config, const std::vector<FixtureTensor> &tensors,
                        int shards = 1) {
  std::filesystem::create_directories(dir);
  write_file(dir / "config.json", config);
  if (shards == 1) {
    write_file(dir / "model.safetensors", safetensors_file(tensors));
    return;
  }
  std::vector<std::vector<FixtureTensor>> parts(static_cast<size_t>(shards));
  std::string index = "{\n  \"metadata\": {\"total_size\": 0},\n  \"weight_map\": {";
  for (size_t i = 0; i < tensors.size(); ++i) {
    size_t s = i % static_cast<size_t>(shards);
    parts[s].push_back(tensors[i]);
    std::string file = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
    index += std::string(i ? "," : "") + "\n    \"" + tensors[i].name + "\": \"" + file + "\"";
  }
  write_file(dir / "model.safetensors.index.json", index + "\n  }\n}\n");
  for (size_t s = 0; s < parts.size(); ++s) {
    std::string file = "model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
    write_file(dir / file, safetensors_file(parts[s]));
  }
}

}  // namespace hkv_test
