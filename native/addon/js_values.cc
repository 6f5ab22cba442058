// js_values.cc: JavaScript <-> engine struct conversions with errors naming the bad field.
#include "js_values.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace headkv_addon {
namespace {

Napi::Object OptionalObject(Napi::Env env, Napi::Value value, const char *what) {
  if (value.IsUndefined() || value.IsNull()) return Napi::Object::New(env);
  if (!value.IsObject()) throw Napi::TypeError::New(env, std::string(what) + " must be an object");
  return value.As<Napi::Object>();
}

bool Has(const Napi::Object &object, const char *field) {
  Napi::Value value = object.Get(field);
  return !value.IsUndefined() && !value.IsNull();
}

double NumberField(Napi::Env env, const Napi::Object &object, const char *what, const char *field) {
  Napi::Value value = object.Get(field);
  if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + "." + field + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) throw Napi::RangeError::New(env, std::string(what) + "." + field + " must be finite");
  return number;
}

int64_t IntegerField(Napi::Env env, const Napi::Object &object, const char *what, const char *field, int64_t min,
                     int64_t max) {
  double number = NumberField(env, object, what, field);
  if (number != std::floor(number) || number < static_cast<double>(min) || number > static_cast<double>(max)) {
    throw Napi::RangeError::New(env, std::string(what) + "." + field + " must be an integer in [" +
                                         std::to_string(min) + ", " + std::to_string(max) + "], got " +
                                         std::to_string(number));
  }
  return static_cast<int64_t>(number);
}

void ReadInt32(Napi::Env env, const Napi::Object &object, const char *what, const char *field, int32_t &out,
               int32_t min = 0) {
  if (Has(object, field)) {
    out = static_cast<int32_t>(IntegerField(env, object, what, field, min, std::numeric_limits<int32_t>::max()));
  }
}

void ReadFloat(Napi::Env env, const Napi::Object &object, const char *what, const char *field, float &out) {
  if (Has(object, field)) out = static_cast<float>(NumberField(env, object, what, field));
}

std::string StringField(Napi::Env env, const Napi::Object &object, const char *what, const char *field) {
  Napi::Value value = object.Get(field);
  if (!value.IsString()) throw Napi::TypeError::New(env, std::string(what) + "." + field + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

uint64_t SeedField(Napi::Env env, const Napi::Object &object) {
  Napi::Value value = object.Get("seed");
  if (value.IsBigInt()) {
    bool lossless = true;
    uint64_t seed = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(env, "sampling.seed must fit in 64 unsigned bits");
    return seed;
  }
  return static_cast<uint64_t>(
      IntegerField(env, object, "sampling", "seed", 0, static_cast<int64_t>(9007199254740991LL)));
}

hkv_kv_method KvMethodFromName(Napi::Env env, const std::string &name) {
  if (name == "full") return HKV_KV_FULL;
  if (name == "snapkv") return HKV_KV_SNAPKV;
  if (name == "pyramidkv") return HKV_KV_PYRAMIDKV;
  if (name == "ada-snapkv") return HKV_KV_ADA_SNAPKV;
  if (name == "headkv-r" || name == "headkv-r2") return HKV_KV_HEADKV;
  throw Napi::RangeError::New(env, "kv.method must be one of full, snapkv, pyramidkv, ada-snapkv, headkv-r, "
                                   "headkv-r2; got '" + name + "'");
}

}  // namespace

std::vector<int32_t> Int32VectorFromJs(Napi::Env env, Napi::Value value, const char *what) {
  std::vector<int32_t> out;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    Napi::Int32Array array = value.As<Napi::Int32Array>();
    out.assign(array.Data(), array.Data() + array.ElementLength());
    return out;
  }
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an Int32Array or an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    double number = item.IsNumber() ? item.As<Napi::Number>().DoubleValue() : std::nan("");
    if (!(number == std::floor(number)) || number < std::numeric_limits<int32_t>::min() ||
        number > std::numeric_limits<int32_t>::max()) {
      throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] must be a 32-bit integer");
    }
    out.push_back(static_cast<int32_t>(number));
  }
  return out;
}

Napi::Object ModelInfoToJs(Napi::Env env, const hkv_model_info &info) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("architecture", Napi::String::New(env, info.architecture));
  out.Set("weightsDtype", Napi::String::New(env, info.weights_dtype));
  out.Set("fingerprint", Napi::String::New(env, info.fingerprint));
  out.Set("device", Napi::String::New(env, info.device));
  out.Set("nLayers", info.n_layers);
  out.Set("nHeads", info.n_heads);
  out.Set("nKvHeads", info.n_kv_heads);
  out.Set("headDim", info.head_dim);
  out.Set("hiddenSize", info.hidden_size);
  out.Set("intermediateSize", info.intermediate_size);
  out.Set("vocabSize", info.vocab_size);
  out.Set("maxPositionEmbeddings", info.max_position_embeddings);
  out.Set("nParams", Napi::Number::New(env, static_cast<double>(info.n_params)));
  out.Set("bosTokenId", info.bos_token_id);
  Napi::Array eos = Napi::Array::New(env);
  for (int32_t id : info.eos_token_ids) {
    if (id < 0) break;
    eos.Set(eos.Length(), id);
  }
  out.Set("eosTokenIds", eos);
  return out;
}

Napi::Object ContextStatsToJs(Napi::Env env, const hkv_context_stats &stats) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("pageBytes", Napi::Number::New(env, static_cast<double>(stats.page_bytes)));
  out.Set("pagesTotal", Napi::Number::New(env, static_cast<double>(stats.pages_total)));
  out.Set("pagesUsed", Napi::Number::New(env, static_cast<double>(stats.pages_used)));
  out.Set("kvBytesHeld", Napi::Number::New(env, static_cast<double>(stats.kv_bytes_held)));
  out.Set("activeSequences", stats.active_sequences);
  out.Set("freeSlots", stats.free_slots);
  return out;
}

const char *FinishReasonName(hkv_finish_reason finish) {
  switch (finish) {
    case HKV_FINISH_NONE: return "none";
    case HKV_FINISH_STOP: return "stop";
    case HKV_FINISH_LENGTH: return "length";
    case HKV_FINISH_CANCELLED: return "cancelled";
  }
  return "none";
}

Napi::Object SequenceInfoToJs(Napi::Env env, const hkv_seq_info &info) {
  Napi::Object out = Napi::Object::New(env);
  const char *state = info.state == HKV_SEQ_PENDING ? "pending" : info.state == HKV_SEQ_DECODING ? "decoding" : "finished";
  out.Set("state", Napi::String::New(env, state));
  out.Set("finish", Napi::String::New(env, FinishReasonName(info.finish)));
  out.Set("nPrompt", info.n_prompt);
  out.Set("nGenerated", info.n_generated);
  out.Set("kvBytesFull", Napi::Number::New(env, static_cast<double>(info.kv_bytes_full)));
  out.Set("kvBytesKept", Napi::Number::New(env, static_cast<double>(info.kv_bytes_kept)));
  out.Set("kvPages", Napi::Number::New(env, static_cast<double>(info.kv_pages)));
  return out;
}

hkv_context_params ContextParamsFromJs(Napi::Env env, Napi::Value value) {
  const char *what = "context options";
  Napi::Object object = OptionalObject(env, value, what);
  hkv_context_params params = hkv_context_default_params();
  ReadInt32(env, object, what, "maxSequences", params.max_sequences, 1);
  ReadInt32(env, object, what, "pageTokens", params.page_tokens, 1);
  if (Has(object, "kvCacheBytes")) {
    params.kv_cache_bytes = IntegerField(env, object, what, "kvCacheBytes", 1, 9007199254740991LL);
  }
  ReadInt32(env, object, what, "prefillChunk", params.prefill_chunk, 1);
  ReadInt32(env, object, what, "maxContext", params.max_context, 0);
  return params;
}

void SequenceInputs::BindArrays() {
  sampling.stop_token_ids = stop_token_ids.empty() ? nullptr : stop_token_ids.data();
  sampling.n_stop_token_ids = static_cast<int32_t>(stop_token_ids.size());
  kv.head_scores = head_scores.empty() ? nullptr : head_scores.data();
}

SequenceInputs SequenceInputsFromJs(Napi::Env env, Napi::Value sampling_value, Napi::Value kv_value,
                                    size_t expected_scores) {
  SequenceInputs inputs;

  Napi::Object sampling = OptionalObject(env, sampling_value, "sampling");
  inputs.sampling = hkv_sampling_default_params();
  ReadFloat(env, sampling, "sampling", "temperature", inputs.sampling.temperature);
  ReadInt32(env, sampling, "sampling", "topK", inputs.sampling.top_k);
  ReadFloat(env, sampling, "sampling", "topP", inputs.sampling.top_p);
  if (Has(sampling, "seed")) inputs.sampling.seed = SeedField(env, sampling);
  ReadInt32(env, sampling, "sampling", "maxNewTokens", inputs.sampling.max_new_tokens, 1);
  if (Has(sampling, "stopTokenIds")) {
    inputs.stop_token_ids = Int32VectorFromJs(env, sampling.Get("stopTokenIds"), "sampling.stopTokenIds");
  }

  const char *what = "kv";
  Napi::Object kv = OptionalObject(env, kv_value, what);
  inputs.kv = hkv_kv_default_params();
  std::string method = Has(kv, "method") ? StringField(env, kv, what, "method") : "full";
  inputs.kv.method = KvMethodFromName(env, method);
  ReadInt32(env, kv, what, "kvSize", inputs.kv.kv_size, 1);
  ReadInt32(env, kv, what, "window", inputs.kv.window, 1);
  ReadInt32(env, kv, what, "poolKernel", inputs.kv.pool_kernel, 1);
  ReadFloat(env, kv, what, "beta", inputs.kv.beta);
  ReadFloat(env, kv, what, "temp", inputs.kv.temp);
  if (Has(kv, "granularity")) {
    std::string granularity = StringField(env, kv, what, "granularity");
    if (granularity == "kv-head") inputs.kv.granularity = HKV_GRANULARITY_KV_HEAD;
    else if (granularity == "query-head") inputs.kv.granularity = HKV_GRANULARITY_QUERY_HEAD;
    else throw Napi::RangeError::New(env, "kv.granularity must be 'kv-head' or 'query-head', got '" + granularity + "'");
  }
  if (Has(kv, "capAtPrompt")) {
    Napi::Value cap = kv.Get("capAtPrompt");
    if (!cap.IsBoolean()) throw Napi::TypeError::New(env, "kv.capAtPrompt must be a boolean");
    inputs.kv.cap_at_prompt = cap.As<Napi::Boolean>().Value() ? 1 : 0;
  }
  if (Has(kv, "groupAggregation")) {
    std::string aggregation = StringField(env, kv, what, "groupAggregation");
    if (aggregation == "mean") inputs.kv.group_aggregation = 0;
    else if (aggregation == "max") inputs.kv.group_aggregation = 1;
    else throw Napi::RangeError::New(env, "kv.groupAggregation must be 'mean' or 'max', got '" + aggregation + "'");
  }
  if (Has(kv, "headScores")) {
    Napi::Value scores = kv.Get("headScores");
    if (!scores.IsTypedArray() || scores.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Napi::TypeError::New(env, "kv.headScores must be a Float32Array");
    }
    Napi::Float32Array array = scores.As<Napi::Float32Array>();
    if (array.ElementLength() != expected_scores) {
      throw Napi::RangeError::New(env, "kv.headScores has " + std::to_string(array.ElementLength()) +
                                           " entries; the model needs n_layers * n_heads = " +
                                           std::to_string(expected_scores));
    }
    inputs.head_scores.assign(array.Data(), array.Data() + array.ElementLength());
  }
  if (inputs.kv.method == HKV_KV_HEADKV && inputs.head_scores.empty()) {
    throw Napi::TypeError::New(env, "kv.method '" + method + "' needs kv.headScores (a head-importance profile)");
  }
  inputs.BindArrays();
  return inputs;
}

}  // namespace headkv_addon
