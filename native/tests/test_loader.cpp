// test_loader.cpp: hkv::load_model end to end on model folders written at run time: f32, f16,
// bf16, sharded, tied and Qwen2-biased checkpoints load with exact values; every corruption
// gives the expected status and a message naming the file and the tensor or field; random
// byte flips and truncations never crash.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "error.h"
#include "loader/dtype_convert.h"
#include "model.h"
#include "test_loader_fixtures.h"
#include "test_loader_support.h"
#include "util/sha256.h"

namespace fs = std::filesystem;
using hkv_test::expect_error;
using hkv_test::FixtureTensor;
using hkv_test::TinyDims;

// Compares the loaded weights with the fixture tensors, element by element.
static void check_weights(const std::string &what, const hkv::LoadedModel &m, const std::vector<FixtureTensor> &tensors) {
  const hkv::Weights &w = m.weights;
  auto pointer_for = [&](const std::string &name) -> const float * {
    if (name == "model.embed_tokens.weight") return w.embed;
    if (name == "model.norm.weight") return w.final_norm;
    if (name == "lm_head.weight") return w.lm_head;
    const std::string prefix = "model.layers.";
    size_t dot = name.find('.', prefix.size());
    size_t layer = std::stoul(name.substr(prefix.size(), dot - prefix.size()));
    if (layer >= w.layers.size()) return nullptr;
    const hkv::LayerWeights &l = w.layers[layer];
    const std::string field = name.substr(dot + 1);
    if (field == "input_layernorm.weight") return l.attn_norm;
    if (field == "self_attn.q_proj.weight") return l.wq;
    if (field == "self_attn.k_proj.weight") return l.wk;
    if (field == "self_attn.v_proj.weight") return l.wv;
    if (field == "self_attn.q_proj.bias") return l.bq;
    if (field == "self_attn.k_proj.bias") return l.bk;
    if (field == "self_attn.v_proj.bias") return l.bv;
    if (field == "self_attn.o_proj.weight") return l.wo;
    if (field == "post_attention_layernorm.weight") return l.ffn_norm;
    if (field == "mlp.gate_proj.weight") return l.w_gate;
    if (field == "mlp.up_proj.weight") return l.w_up;
    if (field == "mlp.down_proj.weight") return l.w_down;
    return nullptr;
  };
  for (const FixtureTensor &t : tensors) {
    const float *p = pointer_for(t.name);
    if (p == nullptr) {
      std::fprintf(stderr, "FAIL %s: tensor %s not bound\n", what.c_str(), t.name.c_str());
      ++hkv_test::failures();
      continue;
    }
    for (size_t i = 0; i < t.values.size(); ++i) {
      if (p[i] != t.values[i]) {
        std::fprintf(stderr, "FAIL %s: %s[%zu] = %g, expected %g\n", what.c_str(), t.name.c_str(), i, p[i], t.values[i]);
        ++hkv_test::failures();
        break;
      }
    }
  }
}

static int64_t count_params(const std::vector<FixtureTensor> &tensors) {
  int64_t n = 0;
  for (const FixtureTensor &t : tensors) n += static_cast<int64_t>(t.values.size());
  return n;
}

static void test_loads(const fs::path &root) {
  const TinyDims d;
  const std::string config = hkv_test::llama_config_json(d);
  for (const char *dtype : {"F32", "F16", "BF16"}) {
    auto tensors = hkv_test::model_tensors(d, 7);
    hkv_test::set_dtype(tensors, dtype);
    fs::path dir = root / (std::string("single-") + dtype);
    hkv_test::write_model(dir, config, tensors);
    try {
      auto m = hkv::load_model(dir.string());
      const std::string want = dtype == std::string("F32") ? "f32" : dtype == std::string("F16") ? "f16" : "bf16";
      CHECK_EQ_STR(m->weights_dtype, want);
      CHECK_EQ_NUM(m->n_params, count_params(tensors));
      CHECK_EQ_NUM(m->config.n_layers, 2);
      CHECK(m->weights.layers.size() == 2);
      CHECK(m->weights.lm_head != m->weights.embed);
      CHECK(m->weights.layers[0].bq == nullptr);
      CHECK(m->store != nullptr);
      check_weights(std::string("load ") + dtype, *m, tensors);
      // The fingerprint is sha256(config.json bytes + the raw header), recomputed here.
      std::string file = hkv_test::read_file(dir / "model.safetensors");
      uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(file[static_cast<size_t>(i)]);
      std::string hashed = config + file.substr(8, n);
      CHECK_EQ_STR(m->fingerprint, hkv::sha256_hex(hashed.data(), hashed.size()));
    } catch (const std::exception &e) {
      std::fprintf(stderr, "FAIL load %s: %s\n", dtype, e.what());
      ++hkv_test::failures();
    }
  }

  // Two shards with an index; an extra unknown tensor (rotary inv_freq) is ignored.
  {
    auto tensors = hkv_test::model_tensors(d, 11);
    hkv_test::set_dtype(tensors, "BF16");
    auto with_extra = tensors;
    with_extra.push_back(FixtureTensor{"model.layers.0.self_attn.rotary_emb.inv_freq", {2}, {0.5f, 0.25f}, "F32"});
    fs::path dir = root / "sharded";
    hkv_test::write_model(dir, config, with_extra, 2);
    try {
      auto m = hkv::load_model(dir.string());
      CHECK_EQ_STR(m->weights_dtype, "bf16");
      CHECK_EQ_NUM(m->n_params, count_params(tensors));
      check_weights("load sharded", *m, tensors);
      std::string hashed = config;
      for (const char *shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
        std::string file = hkv_test::read_file(dir / shard);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(file[static_cast<size_t>(i)]);
        hashed += file.substr(8, n);
      }
      CHECK_EQ_STR(m->fingerprint, hkv::sha256_hex(hashed.data(), hashed.size()));
    } catch (const std::exception &e) {
      std::fprintf(stderr, "FAIL load sharded: %s\n", e.what());
      ++hkv_test::failures();
    }
  }

  // Qwen2 with q/k/v biases and tied embeddings (no lm_head.weight stored); mixed dtypes, the
  // dominant one reported.
  {
    std::string qwen = config;
    qwen.replace(qwen.find("LlamaForCausalLM"), 16, "Qwen2ForCausalLM");
    qwen.replace(qwen.find("\"tie_word_embeddings\": false"), 28, "\"tie_word_embeddings\": true");
    auto tensors = hkv_test::model_tensors(d, 13, /*biases=*/true, /*lm_head=*/false);
    hkv_test::set_dtype(tensors, "F16");
    tensors[0].dtype = "F32";  // the embedding (640 of 2600-odd elements)
    fs::path dir = root / "qwen2";
    hkv_test::write_model(dir, qwen, tensors);
    try {
      auto m = hkv::load_model(dir.string());
      CHECK(m->config.arch == hkv::Architecture::Qwen2);
      CHECK(m->weights.lm_head == m->weights.embed);
      CHECK(m->weights.layers[1].bk != nullptr);
      CHECK_EQ_STR(m->weights_dtype, "f16");
      CHECK_EQ_NUM(m->n_params, count_params(tensors));
      check_weights("load qwen2", *m, tensors);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "FAIL load qwen2: %s\n", e.what());
      ++hkv_test::failures();
    }
  }

  // f32 data not 4-byte aligned in the file (header padded to an odd length): copied, exact.
  {
    auto tensors = hkv_test::model_tensors(d, 17);
    fs::path dir = root / "unaligned";
    hkv_test::write_model(dir, config, tensors);
    hkv_test::write_file(dir / "model.safetensors", hkv_test::safetensors_file(tensors, /*align=*/1));
    std::string file = hkv_test::read_file(dir / "model.safetensors");
    CHECK(file.size() % 4 != 0);  // the fixture really is misaligned
    try {
      auto m = hkv::load_model(dir.string());
      CHECK(reinterpret_cast<uintptr_t>(m->weights.embed) % alignof(float) == 0);
      check_weights("load unaligned f32", *m, tensors);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "FAIL load unaligned: %s\n", e.what());
      ++hkv_test::failures();
    }
  }
}

static void test_half_conversion() {
  using hkv::loader::bf16_to_f32;
  using hkv::loader::f16_to_f32;
  CHECK_EQ_NUM(f16_to_f32(0x3c00), 1.0);
  CHECK_EQ_NUM(f16_to_f32(0xc000), -2.0);
  CHECK_EQ_NUM(f16_to_f32(0x7bff), 65504.0);
  CHECK_EQ_NUM(f16_to_f32(0x0400), std::ldexp(1.0, -14));      // smallest normal
  CHECK_EQ_NUM(f16_to_f32(0x0001), std::ldexp(1.0, -24));      // smallest subnormal
  CHECK_EQ_NUM(f16_to_f32(0x03ff), std::ldexp(1023.0, -24));   // largest subnormal
  CHECK(std::signbit(f16_to_f32(0x8000)) && f16_to_f32(0x8000) == 0.0f);
  CHECK(std::isinf(f16_to_f32(0x7c00)) && f16_to_f32(0x7c00) > 0);
  CHECK(std::isinf(f16_to_f32(0xfc00)) && f16_to_f32(0xfc00) < 0);
  CHECK(std::isnan(f16_to_f32(0x7e00)));
  CHECK_EQ_NUM(f16_to_f32(0x3555), 0.333251953125);
  CHECK_EQ_NUM(bf16_to_f32(0x3f80), 1.0);
  CHECK_EQ_NUM(bf16_to_f32(0xc0a0), -5.0);
  CHECK(std::isnan(bf16_to_f32(0x7fc0)));
  // Every finite f16 value converts back to itself through the fixture's encoder for normals.
  for (uint32_t h = 0x0400; h < 0x7c00; h += 7) {
    if (hkv_test::f32_to_f16_exact(f16_to_f32(static_cast<uint16_t>(h))) != h) {
      std::fprintf(stderr, "FAIL f16 round trip of 0x%04x\n", h);
      ++hkv_test::failures();
      break;
    }
  }
  // The threaded runner over several jobs, more elements than one thread's minimum.
  const size_t n = (1u << 21) + 3;
  std::vector<uint16_t> src(n);
  for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint16_t>(0x3c00 + (i % 1000));
  std::vector<float> dst(n, -1.0f);
  std::vector<hkv::loader::ConversionJob> jobs = {
      {reinterpret_cast<const uint8_t *>(src.data()), hkv::loader::DType::F16, dst.data(), 5},
      {reinterpret_cast<const uint8_t *>(src.data() + 5), hkv::loader::DType::F16, dst.data() + 5, n - 5}};
  hkv::loader::convert_to_f32(jobs);
  for (size_t i = 0; i < n; ++i) {
    if (dst[i] != f16_to_f32(src[i])) {
      std::fprintf(stderr, "FAIL threaded conversion at %zu: %g vs %g\n", i, dst[i], f16_to_f32(src[i]));
      ++hkv_test::failures();
      break;
    }
  }
}

// Rewrites one model folder with `tensors` (single file) and expects load_model to fail.
static void expect_load_error(const std::string &what, const fs::path &dir, hkv_status status,
                              std::initializer_list<std::string> needles) {
  expect_error(what, [&] { hkv::load_model(dir.string()); }, status, needles);
}

static void test_corruptions(const fs::path &root) {
  const TinyDims d;
  const std::string config = hkv_test::llama_config_json(d);
  auto tensors = hkv_test::model_tensors(d, 23);
  hkv_test::set_dtype(tensors, "F16");
  const std::string valid = hkv_test::safetensors_file(tensors);
  const fs::path dir = root / "corrupt";
  hkv_test::write_model(dir, config, tensors);
  const fs::path st = dir / "model.safetensors";
  const std::string st_name = "model.safetensors";

  hkv_test::write_file(st, valid.substr(0, 5));
  expect_load_error("file shorter than 8 bytes", dir, HKV_ERR_IO, {st_name, "truncated"});
  hkv_test::write_file(st, valid.substr(0, 100));
  expect_load_error("file truncated inside the header", dir, HKV_ERR_IO, {st_name, "truncated", "header length"});
  hkv_test::write_file(st, valid.substr(0, valid.size() - 10));
  expect_load_error("file truncated inside the data", dir, HKV_ERR_FORMAT, {st_name, "tensor \"lm_head.weight\"", "past the end"});

  std::string bad_length = valid;
  uint64_t too_long = valid.size();
  for (int i = 0; i < 8; ++i) bad_length[static_cast<size_t>(i)] = static_cast<char>((too_long >> (8 * i)) & 0xff);
  hkv_test::write_file(st, bad_length);
  expect_load_error("header length past EOF", dir, HKV_ERR_IO, {st_name, "header length " + std::to_string(too_long)});
  for (int i = 0; i < 8; ++i) bad_length[static_cast<size_t>(i)] = static_cast<char>(0xff);
  hkv_test::write_file(st, bad_length);
  expect_load_error("absurd header length", dir, HKV_ERR_FORMAT, {st_name, "header length"});

  hkv_test::write_file(st, hkv_test::safetensors_from_header("{\n  \"a\": {\"dtype\": \"F32\",\n    \"shape\": [1,]}\n}", "0000"));
  expect_load_error("invalid header JSON", dir, HKV_ERR_FORMAT, {st_name + " (header):3:17: ", "expected a value"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header("[]", ""));
  expect_load_error("header not an object", dir, HKV_ERR_FORMAT, {st_name, "header must be a JSON object"});

  const std::string data16(16, '\0');
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", data16));
  expect_load_error("offsets past the end", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "[8, 24]", "past the end"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 12]}}", data16));
  expect_load_error("size mismatch", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "12 bytes", "needs 16"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [12, 8]}}", data16));
  expect_load_error("reversed offsets", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "invalid data_offsets"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [-4], \"data_offsets\": [0, 16]}}", data16));
  expect_load_error("negative dimension", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "negative dimension"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4]}}", data16));
  expect_load_error("no data_offsets", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "data_offsets"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header(
                               "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], "
                               "\"data_offsets\": [0, 16]}}", data16));
  expect_load_error("element count overflow", dir, HKV_ERR_FORMAT, {st_name, "tensor \"model.norm.weight\"", "overflows"});
  hkv_test::write_file(st, hkv_test::safetensors_from_header("{\"__metadata__\": {\"format\": 1}}", ""));
  expect_load_error("bad metadata", dir, HKV_ERR_FORMAT, {st_name, "__metadata__"});

  auto modified = tensors;
  modified[5].dtype = "I8";  // model.layers.0.self_attn.o_proj.weight
  hkv_test::write_file(st, hkv_test::safetensors_file(modified));
  expect_load_error("unsupported dtype", dir, HKV_ERR_UNSUPPORTED, {st_name, "tensor \"" + tensors[5].name + "\"", "I8"});
  modified = tensors;
  modified[5].dtype = "Q4_K";  // not a safetensors dtype at all: its size cannot be checked
  hkv_test::write_file(st, hkv_test::safetensors_file(modified));
  expect_load_error("unknown dtype name", dir, HKV_ERR_UNSUPPORTED, {st_name, "tensor \"" + tensors[5].name + "\"", "Q4_K"});

  modified = tensors;
  modified.erase(modified.begin() + 19);  // model.layers.1.mlp.down_proj.weight
  hkv_test::write_file(st, hkv_test::safetensors_file(modified));
  expect_load_error("missing tensor", dir, HKV_ERR_FORMAT, {st_name, "tensor \"" + tensors[19].name + "\" is missing"});
  modified = tensors;
  modified.pop_back();  // lm_head.weight, with tie_word_embeddings false
  hkv_test::write_file(st, hkv_test::safetensors_file(modified));
  expect_load_error("missing lm_head", dir, HKV_ERR_FORMAT, {st_name, "\"lm_head.weight\" is missing", "tie_word_embeddings"});

  modified = tensors;
  modified[2].shape = {16, 16};  // model.layers.0.self_attn.q_proj.weight is [16, 16]: fine; k_proj next
  modified[3].shape = {16, 8};   // k_proj must be [8, 16]
  hkv_test::write_file(st, hkv_test::safetensors_file(modified));
  expect_load_error("wrong shape", dir, HKV_ERR_FORMAT,
                    {st_name, "tensor \"" + tensors[3].name + "\"", "has shape [16, 8], expected [8, 16]"});
  hkv_test::write_file(st, valid);

  // config.json problems surface through load_model with the file's path.
  std::string gpt2 = config;
  gpt2.replace(gpt2.find("LlamaForCausalLM"), 16, "GPT2LMHeadModel");
  hkv_test::write_file(dir / "config.json", gpt2);
  expect_load_error("unknown architecture", dir, HKV_ERR_UNSUPPORTED, {"config.json", "GPT2LMHeadModel"});
  std::string no_vocab = config;
  no_vocab.replace(no_vocab.find("\"vocab_size\""), 12, "\"vocab_sizes\"");
  hkv_test::write_file(dir / "config.json", no_vocab);
  expect_load_error("missing config field", dir, HKV_ERR_FORMAT, {"config.json", "missing required field \"vocab_size\""});
  hkv_test::write_file(dir / "config.json", hkv_test::llama_config_json(d, ",\n  \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}"));
  expect_load_error("bad rope type", dir, HKV_ERR_UNSUPPORTED, {"config.json", "\"rope_scaling.rope_type\"", "yarn"});
  hkv_test::write_file(dir / "config.json", "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"hidden_size\": 16,,\n}");
  expect_load_error("config JSON syntax", dir, HKV_ERR_FORMAT, {"config.json:3:21: "});
  fs::remove(dir / "config.json");
  expect_load_error("no config.json", dir, HKV_ERR_IO, {"config.json", "cannot open"});
  hkv_test::write_file(dir / "config.json", config);
  fs::remove(st);
  expect_load_error("no safetensors", dir, HKV_ERR_IO, {"model.safetensors.index.json"});
  expect_load_error("no folder", root / "does-not-exist", HKV_ERR_IO, {"does-not-exist", "model folder"});
  hkv_test::write_file(st, valid);
  CHECK(hkv::load_model(dir.string()) != nullptr);  // the folder is whole again
}

static void test_shard_errors(const fs::path &root) {
  const TinyDims d;
  const std::string config = hkv_test::llama_config_json(d);
  auto tensors = hkv_test::model_tensors(d, 29);
  const fs::path dir = root / "shards";
  hkv_test::write_model(dir, config, tensors, 2);
  const std::string index = hkv_test::read_file(dir / "model.safetensors.index.json");

  fs::rename(dir / "model-00002-of-00002.safetensors", dir / "elsewhere.safetensors");
  expect_load_error("shard listed in index missing", dir, HKV_ERR_IO,
                    {"model-00002-of-00002.safetensors", "model.safetensors.index.json", "does not exist"});
  fs::rename(dir / "elsewhere.safetensors", dir / "model-00002-of-00002.safetensors");

  std::string escaping = index;
  escaping.replace(escaping.find("model-00001"), 11, "../model-01");
  hkv_test::write_file(dir / "model.safetensors.index.json", escaping);
  expect_load_error("shard path outside the folder", dir, HKV_ERR_FORMAT, {"model.safetensors.index.json", "must be a file name"});

  std::string moved = index;  // claims the embedding lives in shard 2, but it is in shard 1
  size_t at = moved.find("\"model.embed_tokens.weight\": \"model-00001");
  moved.replace(at + 30, 11, "model-00002");
  hkv_test::write_file(dir / "model.safetensors.index.json", moved);
  expect_load_error("weight_map points to the wrong shard", dir, HKV_ERR_FORMAT,
                    {"model.safetensors.index.json", "\"model.embed_tokens.weight\"", "model-00002-of-00002.safetensors", "does not contain"});

  hkv_test::write_file(dir / "model.safetensors.index.json", "{\"metadata\": {}}");
  expect_load_error("index without weight_map", dir, HKV_ERR_FORMAT, {"model.safetensors.index.json", "weight_map"});

  // The same tensor in both shards.
  std::vector<FixtureTensor> shard2;
  for (size_t i = 1; i < tensors.size(); i += 2) shard2.push_back(tensors[i]);
  shard2.push_back(tensors[0]);
  hkv_test::write_file(dir / "model.safetensors.index.json", index);
  hkv_test::write_file(dir / "model-00002-of-00002.safetensors", hkv_test::safetensors_file(shard2));
  expect_load_error("tensor stored twice", dir, HKV_ERR_FORMAT, {"\"model.embed_tokens.weight\"", "stored twice"});
}

// Random byte flips (mostly in the header, where they matter) and truncations of a valid file:
// load_model must either succeed or throw hkv::Error, never crash or throw anything else.
static void test_fuzz(const fs::path &root) {
  const TinyDims d;
  const std::string config = hkv_test::llama_config_json(d);
  auto tensors = hkv_test::model_tensors(d, 31);
  hkv_test::set_dtype(tensors, "BF16");
  const fs::path dir = root / "fuzz";
  hkv_test::write_model(dir, config, tensors);
  const std::string valid = hkv_test::read_file(dir / "model.safetensors");
  uint64_t header_end = 8;
  for (int i = 7; i >= 0; --i) header_end += static_cast<uint64_t>(static_cast<uint8_t>(valid[static_cast<size_t>(i)])) << (8 * i);

  std::mt19937 rng(12345);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::string bytes = valid;
    int mode = iter % 4;
    if (mode == 3) {
      bytes.resize(std::uniform_int_distribution<size_t>(0, valid.size() - 1)(rng));
    } else {
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        size_t limit = mode == 2 ? valid.size() : header_end;
        size_t pos = std::uniform_int_distribution<size_t>(0, limit - 1)(rng);
        bytes[pos] = static_cast<char>(mode == 0 ? bytes[pos] ^ (1 << (rng() % 8)) : static_cast<char>(rng()));
      }
    }
    hkv_test::write_file(dir / "model.safetensors", bytes);
    try {
      auto m = hkv::load_model(dir.string());
      ++loaded;
    } catch (const hkv::Error &) {
      ++rejected;
    } catch (const std::exception &e) {
      std::fprintf(stderr, "FAIL fuzz iteration %d: non-hkv exception: %s\n", iter, e.what());
      ++hkv_test::failures();
    }
  }
  std::printf("fuzz: %d loaded, %d rejected with hkv::Error\n", loaded, rejected);
  CHECK(rejected > 0);
}

int main() {
  hkv_test::ScratchDir scratch("loader");
  test_half_conversion();
  test_loads(scratch.path());
  test_corruptions(scratch.path());
  test_shard_errors(scratch.path());
  test_fuzz(scratch.path());
  return hkv_test::finish("test_loader");
}
