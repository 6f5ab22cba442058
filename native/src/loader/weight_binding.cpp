// weight_binding.cpp: tensor naming of transformers' LlamaForCausalLM / MistralForCausalLM /
// Qwen2ForCausalLM state dicts, shape checks and fp32 materialisation (weight_binding.h).
#include "loader/weight_binding.h"

#include <cstdint>
#include <vector>

#include "error.h"
#include "loader/dtype_convert.h"

namespace hkv::loader {

namespace {

struct Slot {
  std::string name;
  std::vector<int64_t> shape;
  const float **target;
};

std::string shape_text(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::vector<Slot> make_slots(const Config &cfg, Weights &w) {
  const int64_t hidden = cfg.hidden, q = cfg.q_dim(), kv = cfg.kv_dim(), inter = cfg.intermediate, vocab = cfg.vocab;
  std::vector<Slot> slots;
  slots.push_back({"model.embed_tokens.weight", {vocab, hidden}, &w.embed});
  w.layers.resize(static_cast<size_t>(cfg.n_layers));
  for (int i = 0; i < cfg.n_layers; ++i) {
    LayerWeights &l = w.layers[static_cast<size_t>(i)];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    slots.push_back({p + "input_layernorm.weight", {hidden}, &l.attn_norm});
    slots.push_back({p + "self_attn.q_proj.weight", {q, hidden}, &l.wq});
    slots.push_back({p + "self_attn.k_proj.weight", {kv, hidden}, &l.wk});
    slots.push_back({p + "self_attn.v_proj.weight", {kv, hidden}, &l.wv});
    if (cfg.attention_bias) {
      slots.push_back({p + "self_attn.q_proj.bias", {q}, &l.bq});
      slots.push_back({p + "self_attn.k_proj.bias", {kv}, &l.bk});
      slots.push_back({p + "self_attn.v_proj.bias", {kv}, &l.bv});
    }
    slots.push_back({p + "self_attn.o_proj.weight", {hidden, q}, &l.wo});
    slots.push_back({p + "post_attention_layernorm.weight", {hidden}, &l.ffn_norm});
    slots.push_back({p + "mlp.gate_proj.weight", {inter, hidden}, &l.w_gate});
    slots.push_back({p + "mlp.up_proj.weight", {inter, hidden}, &l.w_up});
    slots.push_back({p + "mlp.down_proj.weight", {hidden, inter}, &l.w_down});
  }
  slots.push_back({"model.norm.weight", {hidden}, &w.final_norm});
  // Tied embeddings: transformers ties lm_head to embed_tokens after loading, so a stored
  // lm_head.weight is ignored then, as here.
  if (!cfg.tie_embeddings) slots.push_back({"lm_head.weight", {vocab, hidden}, &w.lm_head});
  return slots;
}

const TensorInfo &lookup(const Checkpoint &checkpoint, const Slot &slot, const Config &cfg, const std::string &config_file) {
  const TensorInfo *t = checkpoint.find(slot.name);
  if (t == nullptr) {
    std::string why = slot.name == "lm_head.weight" ? " (" + config_file + " has tie_word_embeddings false)" : "";
    throw Error(HKV_ERR_FORMAT, checkpoint.lookup_source() + ": tensor \"" + slot.name + "\" is missing" + why);
  }
  const std::string &file = checkpoint.file_of(slot.name);
  if (t->dtype == DType::Other) {
    throw Error(HKV_ERR_UNSUPPORTED, file + ": tensor \"" + slot.name + "\" has dtype " + t->dtype_name +
                                         "; supported dtypes: F32, F16, BF16");
  }
  if (t->shape != slot.shape) {
    throw Error(HKV_ERR_FORMAT, file + ": tensor \"" + slot.name + "\" has shape " + shape_text(t->shape) + ", expected " +
                                    shape_text(slot.shape) + " from " + config_file + " (" + cfg.architecture_name + ")");
  }
  return *t;
}

bool usable_in_place(const TensorInfo &t) {
  return t.dtype == DType::F32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0;
}

// Rows of converted tensors start on AlignedBuffer's alignment.
constexpr uint64_t kFloatsPerAlignment = AlignedBuffer::kAlignment / sizeof(float);

}  // namespace

BoundWeights bind_weights(const Config &cfg, const Checkpoint &checkpoint, const std::string &config_file) {
  BoundWeights bound;
  std::vector<Slot> slots = make_slots(cfg, bound.weights);

  std::vector<const TensorInfo *> tensors;
  tensors.reserve(slots.size());
  uint64_t buffer_floats = 0;
  uint64_t elements_by_dtype[3] = {0, 0, 0};  // F32, F16, BF16
  for (const Slot &slot : slots) {
    const TensorInfo &t = lookup(checkpoint, slot, cfg, config_file);
    tensors.push_back(&t);
    elements_by_dtype[static_cast<int>(t.dtype)] += t.numel;
    bound.n_params += static_cast<int64_t>(t.numel);
    if (!usable_in_place(t)) buffer_floats += (t.numel + kFloatsPerAlignment - 1) / kFloatsPerAlignment * kFloatsPerAlignment;
  }

  bound.converted = AlignedBuffer(buffer_floats);
  std::vector<ConversionJob> jobs;
  uint64_t offset = 0;
  for (size_t i = 0; i < slots.size(); ++i) {
    const TensorInfo &t = *tensors[i];
    if (usable_in_place(t)) {
      *slots[i].target = reinterpret_cast<const float *>(t.data);
      continue;
    }
    float *dst = bound.converted.data() + offset;
    jobs.push_back(ConversionJob{t.data, t.dtype, dst, t.numel});
    *slots[i].target = dst;
    offset += (t.numel + kFloatsPerAlignment - 1) / kFloatsPerAlignment * kFloatsPerAlignment;
  }
  convert_to_f32(jobs);
  if (cfg.tie_embeddings) bound.weights.lm_head = bound.weights.embed;

  static_assert(static_cast<int>(DType::F32) == 0 && static_cast<int>(DType::F16) == 1 && static_cast<int>(DType::BF16) == 2,
                "elements_by_dtype is indexed by DType");
  bound.dominant_dtype = DType::F32;
  for (DType d : {DType::F16, DType::BF16}) {
    if (elements_by_dtype[static_cast<int>(d)] > elements_by_dtype[static_cast<int>(bound.dominant_dtype)]) bound.dominant_dtype = d;
  }
  return bound;
}

}  // namespace hkv::loader
