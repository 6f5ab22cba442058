// step_worker.cc: hkv_step in a worker thread.
#include "step_worker.h"

#include "context.h"
#include "js_values.h"

namespace headkv_addon {

StepWorker::StepWorker(Napi::Env env, Context *owner, Napi::Object owner_object, hkv_context *context,
                       int32_t max_sequences)
    : Napi::AsyncWorker(env, "headkv.step"),
      deferred_(Napi::Promise::Deferred::New(env)),
      owner_(owner),
      owner_object_(Napi::Persistent(owner_object)),
      context_(context),
      tokens_(static_cast<size_t>(max_sequences)) {}

void StepWorker::Execute() {
  if (failure_.Capture(hkv_step(context_, tokens_.data(), static_cast<int32_t>(tokens_.size()), &n_tokens_))) {
    SetError(failure_.message);
  }
}

void StepWorker::OnOK() {
  owner_->EndAsync();
  Napi::Env env = Env();
  Napi::Array results = Napi::Array::New(env, static_cast<size_t>(n_tokens_));
  for (int32_t i = 0; i < n_tokens_ && i < static_cast<int32_t>(tokens_.size()); i++) {
    Napi::Object result = Napi::Object::New(env);
    result.Set("seqId", tokens_[i].seq_id);
    result.Set("token", tokens_[i].token);
    result.Set("finish", Napi::String::New(env, FinishReasonName(tokens_[i].finish)));
    results.Set(static_cast<uint32_t>(i), result);
  }
  deferred_.Resolve(results);
}

void StepWorker::OnError(const Napi::Error &) {
  owner_->EndAsync();
  deferred_.Reject(MakeEngineError(Env(), failure_.status, failure_.message).Value());
}

}  // namespace headkv_addon
