// prefill_worker.cc: hkv_seq_prefill in a worker thread, progress through the worker's queue.
#include "prefill_worker.h"

#include "context.h"

namespace headkv_addon {

PrefillWorker::PrefillWorker(Napi::Env env, Context *owner, Napi::Object owner_object, hkv_context *context,
                             int32_t id, Napi::Function on_progress)
    : Napi::AsyncProgressWorker<PrefillProgress>(env, "headkv.prefill"),
      deferred_(Napi::Promise::Deferred::New(env)),
      owner_(owner),
      owner_object_(Napi::Persistent(owner_object)),
      context_(context),
      id_(id) {
  if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
}

void PrefillWorker::ReportProgress(void *user, int64_t done, int64_t total) {
  const auto *progress = static_cast<const ExecutionProgress *>(user);
  PrefillProgress event{done, total};
  progress->Send(&event, 1);
}

void PrefillWorker::Execute(const ExecutionProgress &progress) {
  hkv_progress_fn callback = on_progress_.IsEmpty() ? nullptr : &PrefillWorker::ReportProgress;
  void *user = const_cast<ExecutionProgress *>(&progress);
  if (failure_.Capture(hkv_seq_prefill(context_, id_, callback, user, &first_token_))) {
    SetError(failure_.message);
  }
}

void PrefillWorker::OnProgress(const PrefillProgress *data, size_t count) {
  // The worker keeps only the latest event between deliveries: progress is a level, not a log.
  if (on_progress_.IsEmpty() || count == 0) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  const PrefillProgress &last = data[count - 1];
  try {
    on_progress_.Call({Napi::Number::New(env, static_cast<double>(last.done)),
                       Napi::Number::New(env, static_cast<double>(last.total))});
  } catch (const Napi::Error &error) {
    // A throwing progress listener must not abort the prefill; surface it as a warning.
    error.Value().Set("message", Napi::String::New(env, "prefill onProgress threw: " + error.Message()));
    env.Global().Get("process").As<Napi::Object>().Get("emitWarning").As<Napi::Function>().Call({error.Value()});
  }
}

void PrefillWorker::OnOK() {
  owner_->EndAsync();
  deferred_.Resolve(Napi::Number::New(Env(), first_token_));
}

void PrefillWorker::OnError(const Napi::Error &) {
  owner_->EndAsync();
  deferred_.Reject(MakeEngineError(Env(), failure_.status, failure_.message).Value());
}

}  // namespace headkv_addon
