// context.cc: the synchronous Context methods; prefill and step run in their own workers.
#include "context.h"

#include <cmath>
#include <numeric>
#include <vector>

#include "addon_data.h"
#include "engine_error.h"
#include "prefill_worker.h"
#include "step_worker.h"

namespace headkv_addon {

Napi::Function Context::DefineClass(Napi::Env env) {
  return ObjectWrap<Context>::DefineClass(env, "Context",
                                          {
                                              InstanceMethod<&Context::AddSequence>("addSequence"),
                                              InstanceMethod<&Context::Prefill>("prefill"),
                                              InstanceMethod<&Context::Step>("step"),
                                              InstanceMethod<&Context::Cancel>("cancel"),
                                              InstanceMethod<&Context::Remove>("remove"),
                                              InstanceMethod<&Context::SequenceInfo>("sequenceInfo"),
                                              InstanceMethod<&Context::Logits>("logits"),
                                              InstanceMethod<&Context::Selection>("selection"),
                                              InstanceMethod<&Context::Stats>("stats"),
                                              InstanceMethod<&Context::AttachProbe>("attachProbe"),
                                              InstanceMethod<&Context::ProbeScores>("probeScores"),
                                              InstanceMethod<&Context::Dispose>("dispose"),
                                              InstanceAccessor<&Context::IsDisposed>("disposed"),
                                              InstanceAccessor<&Context::IsBusy>("busy"),
                                          });
}

Napi::Object Context::Wrap(Napi::Env env, const ContextInit &init) {
  // The External points at `init` only for the duration of this synchronous constructor call.
  ContextInit copy = init;
  return GetAddonData(env).context_constructor.New({Napi::External<ContextInit>::New(env, &copy)});
}

Context::Context(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Context>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Context cannot be constructed directly: use model.createContext()");
  }
  const ContextInit &init = *info[0].As<Napi::External<ContextInit>>().Data();
  context_ = init.context;
  params_ = init.params;
  model_ = init.model;
  model_info_ = init.model_info;
}

Context::~Context() { Release(); }

void Context::Release() {
  if (context_ != nullptr) {
    hkv_context_free(context_);
    context_ = nullptr;
  }
  sequence_inputs_.clear();
  model_.reset();
}

hkv_context *Context::Idle(Napi::Env env, const char *operation) const {
  if (context_ == nullptr) {
    throw Napi::Error::New(env, std::string("context.") + operation + "(): the context was disposed");
  }
  if (!busy_with_.empty()) {
    throw Napi::Error::New(env, std::string("context.") + operation + "(): the context is busy with " + busy_with_ +
                                    "; a context runs one operation at a time (await it first)");
  }
  return context_;
}

hkv_context *Context::BeginAsync(Napi::Env env, const char *operation) {
  hkv_context *context = Idle(env, operation);
  busy_with_ = std::string(operation) + "()";
  return context;
}

void Context::EndAsync() { busy_with_.clear(); }

int32_t SequenceIdFromJs(Napi::Env env, Napi::Value value) {
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (number != std::floor(number) || number < 0 || number > 2147483647.0) {
    throw Napi::TypeError::New(env, "sequence id must be a non-negative 32-bit integer");
  }
  return static_cast<int32_t>(number);
}

Napi::Value Context::AddSequence(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "addSequence");
  std::vector<int32_t> prompt = Int32VectorFromJs(env, info[0], "promptIds");
  size_t expected_scores = static_cast<size_t>(model_info_.n_layers) * static_cast<size_t>(model_info_.n_heads);
  auto inputs = std::make_unique<SequenceInputs>(SequenceInputsFromJs(env, info[1], info[2], expected_scores));
  inputs->BindArrays();  // the vectors moved into the heap object
  int32_t id = -1;
  ThrowIfFailed(env, hkv_seq_add(context, prompt.data(), static_cast<int32_t>(prompt.size()), &inputs->sampling,
                                 &inputs->kv, &id));
  sequence_inputs_[id] = std::move(inputs);
  return Napi::Number::New(env, id);
}

Napi::Value Context::Prefill(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int32_t id = SequenceIdFromJs(env, info[0]);
  Napi::Value on_progress = info.Length() > 1 ? info[1] : env.Undefined();
  if (!on_progress.IsUndefined() && !on_progress.IsNull() && !on_progress.IsFunction()) {
    throw Napi::TypeError::New(env, "context.prefill(id, onProgress): onProgress must be a function");
  }
  hkv_context *context = BeginAsync(env, "prefill");
  auto *worker = new PrefillWorker(env, this, Value(), context, id,
                                   on_progress.IsFunction() ? on_progress.As<Napi::Function>() : Napi::Function());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Context::Step(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = BeginAsync(env, "step");
  auto *worker = new StepWorker(env, this, Value(), context, params_.max_sequences);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Context::Cancel(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (context_ == nullptr) throw Napi::Error::New(env, "context.cancel(): the context was disposed");
  // hkv_seq_cancel is thread-safe: allowed while a prefill or step runs.
  ThrowIfFailed(env, hkv_seq_cancel(context_, SequenceIdFromJs(env, info[0])));
  return env.Undefined();
}

Napi::Value Context::Remove(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "remove");
  int32_t id = SequenceIdFromJs(env, info[0]);
  ThrowIfFailed(env, hkv_seq_remove(context, id));
  sequence_inputs_.erase(id);
  return env.Undefined();
}

Napi::Value Context::SequenceInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "sequenceInfo");
  hkv_seq_info seq{};
  ThrowIfFailed(env, hkv_seq_get_info(context, SequenceIdFromJs(env, info[0]), &seq));
  return SequenceInfoToJs(env, seq);
}

Napi::Value Context::Logits(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "logits");
  int32_t id = SequenceIdFromJs(env, info[0]);
  Napi::Float32Array logits = Napi::Float32Array::New(env, static_cast<size_t>(model_info_.vocab_size));
  ThrowIfFailed(env, hkv_seq_get_logits(context, id, logits.Data(), model_info_.vocab_size));
  return logits;
}

Napi::Value Context::Selection(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "selection");
  int32_t id = SequenceIdFromJs(env, info[0]);
  // cache_heads is at most n_heads (query-head granularity); the first call reports it.
  std::vector<int32_t> counts(static_cast<size_t>(model_info_.n_layers) * static_cast<size_t>(model_info_.n_heads));
  int32_t cache_heads = 0;
  ThrowIfFailed(env, hkv_seq_get_selection(context, id, &cache_heads, counts.data(), nullptr, 0));
  size_t n_counts = static_cast<size_t>(model_info_.n_layers) * static_cast<size_t>(cache_heads);
  int64_t total = std::accumulate(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(n_counts), int64_t{0});
  Napi::Int32Array positions = Napi::Int32Array::New(env, static_cast<size_t>(total));
  ThrowIfFailed(env, hkv_seq_get_selection(context, id, &cache_heads, counts.data(), positions.Data(), total));
  Napi::Int32Array counts_js = Napi::Int32Array::New(env, n_counts);
  std::copy(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(n_counts), counts_js.Data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("cacheHeads", cache_heads);
  out.Set("counts", counts_js);
  out.Set("positions", positions);
  return out;
}

Napi::Value Context::Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "stats");
  hkv_context_stats stats{};
  ThrowIfFailed(env, hkv_context_get_stats(context, &stats));
  return ContextStatsToJs(env, stats);
}

Napi::Value Context::Dispose(const Napi::CallbackInfo &info) {
  if (context_ != nullptr) Idle(info.Env(), "dispose");
  Release();
  return info.Env().Undefined();
}

Napi::Value Context::IsDisposed(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), context_ == nullptr);
}

Napi::Value Context::IsBusy(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), !busy_with_.empty());
}

}  // namespace headkv_addon
