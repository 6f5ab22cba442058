// prefill_worker.h: runs hkv_seq_prefill off the JavaScript thread; reports progress.
#pragma once

#include <napi.h>

#include "engine_error.h"
#include "headkv.h"

namespace headkv_addon {

class Context;

struct PrefillProgress {
  int64_t done;
  int64_t total;
};

class PrefillWorker : public Napi::AsyncProgressWorker<PrefillProgress> {
 public:
  // `on_progress` may be empty. Resolves with the first generated token.
  PrefillWorker(Napi::Env env, Context *owner, Napi::Object owner_object, hkv_context *context, int32_t id,
                Napi::Function on_progress);
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress &progress) override;
  void OnProgress(const PrefillProgress *data, size_t count) override;
  void OnOK() override;
  void OnError(const Napi::Error &error) override;

 private:
  static void ReportProgress(void *user, int64_t done, int64_t total);

  Napi::Promise::Deferred deferred_;
  Context *owner_;
  Napi::ObjectReference owner_object_;  // keeps the Context alive while the worker runs
  hkv_context *context_;
  int32_t id_;
  Napi::FunctionReference on_progress_;
  int32_t first_token_ = -1;
  EngineFailure failure_;
};

}  // namespace headkv_addon
