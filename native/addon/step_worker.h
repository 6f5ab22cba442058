// step_worker.h: runs one hkv_step (a decode step of every decoding sequence) off the JS thread.
#pragma once

#include <napi.h>

#include <vector>

#include "engine_error.h"
#include "headkv.h"

namespace headkv_addon {

class Context;

class StepWorker : public Napi::AsyncWorker {
 public:
  // Resolves with [{seqId, token, finish}] for every sequence stepped.
  StepWorker(Napi::Env env, Context *owner, Napi::Object owner_object, hkv_context *context, int32_t max_sequences);
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error &error) override;

 private:
  Napi::Promise::Deferred deferred_;
  Context *owner_;
  Napi::ObjectReference owner_object_;  // keeps the Context alive while the worker runs
  hkv_context *context_;
  std::vector<hkv_step_token> tokens_;
  int32_t n_tokens_ = 0;
  EngineFailure failure_;
};

}  // namespace headkv_addon
