// context.h: the JavaScript Context class wrapping one hkv_context (KV cache + sequences).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "headkv.h"
#include "js_values.h"

namespace headkv_addon {

// What Model.createContext() hands to the Context constructor.
struct ContextInit {
  hkv_context *context;
  hkv_context_params params;
  std::shared_ptr<hkv_model> model;
  hkv_model_info model_info;
};

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, const ContextInit &init);

  explicit Context(const Napi::CallbackInfo &info);
  ~Context() override;

  // An hkv_context is not thread-safe: one asynchronous operation at a time, and no synchronous
  // call while it runs. BeginAsync throws a clear error when that rule would be broken.
  hkv_context *BeginAsync(Napi::Env env, const char *operation);
  void EndAsync();
  int32_t MaxSequences() const { return params_.max_sequences; }

 private:
  Napi::Value AddSequence(const Napi::CallbackInfo &info);
  Napi::Value Prefill(const Napi::CallbackInfo &info);
  Napi::Value Step(const Napi::CallbackInfo &info);
  Napi::Value Cancel(const Napi::CallbackInfo &info);
  Napi::Value Remove(const Napi::CallbackInfo &info);
  Napi::Value SequenceInfo(const Napi::CallbackInfo &info);
  Napi::Value Logits(const Napi::CallbackInfo &info);
  Napi::Value Selection(const Napi::CallbackInfo &info);
  Napi::Value Stats(const Napi::CallbackInfo &info);
  // Head-importance profiling (context_probe.cc).
  Napi::Value AttachProbe(const Napi::CallbackInfo &info);
  Napi::Value ProbeScores(const Napi::CallbackInfo &info);
  Napi::Value Dispose(const Napi::CallbackInfo &info);
  Napi::Value IsDisposed(const Napi::CallbackInfo &info);
  Napi::Value IsBusy(const Napi::CallbackInfo &info);

  // The handle for a synchronous call: throws when disposed or while an operation runs.
  hkv_context *Idle(Napi::Env env, const char *operation) const;
  void Release();

  hkv_context *context_ = nullptr;
  hkv_context_params params_{};
  std::shared_ptr<hkv_model> model_;  // freed after the context, never before
  hkv_model_info model_info_{};
  std::string busy_with_;  // the running asynchronous operation, "" when idle
  std::unordered_map<int32_t, std::unique_ptr<SequenceInputs>> sequence_inputs_;
};

// Reads a sequence id argument (a non-negative 32-bit integer).
int32_t SequenceIdFromJs(Napi::Env env, Napi::Value value);

}  // namespace headkv_addon
