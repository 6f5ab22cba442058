// module.cc: the addon's exports: loadModel(), version(), and the Model and Context classes.
#include <napi.h>

#include "addon_data.h"
#include "context.h"
#include "headkv.h"
#include "load_model_worker.h"
#include "model.h"

namespace headkv_addon {

Napi::Value Version(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), hkv_version()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto *data = new AddonData();
  Napi::Function model = Model::DefineClass(env);
  Napi::Function context = Context::DefineClass(env);
  data->model_constructor = Napi::Persistent(model);
  data->context_constructor = Napi::Persistent(context);
  env.SetInstanceData<AddonData>(data);

  exports.Set("loadModel", Napi::Function::New<LoadModelWorker::Start>(env, "loadModel"));
  exports.Set("version", Napi::Function::New<Version>(env, "version"));
  exports.Set("Model", model);
  exports.Set("Context", context);
  return exports;
}

}  // namespace headkv_addon

// NODE_API_MODULE pastes its second argument into an identifier: it needs an unqualified name.
static Napi::Object InitHeadkv(Napi::Env env, Napi::Object exports) { return headkv_addon::Init(env, exports); }

NODE_API_MODULE(headkv, InitHeadkv)
