// model.cc: Model.info(), Model.createContext(), Model.dispose().
#include "model.h"

#include "addon_data.h"
#include "context.h"
#include "engine_error.h"
#include "js_values.h"

namespace headkv_addon {

Napi::Function Model::DefineClass(Napi::Env env) {
  return ObjectWrap<Model>::DefineClass(env, "Model",
                                        {
                                            InstanceMethod<&Model::GetInfo>("info"),
                                            InstanceMethod<&Model::CreateContext>("createContext"),
                                            InstanceMethod<&Model::Dispose>("dispose"),
                                            InstanceAccessor<&Model::IsDisposed>("disposed"),
                                        });
}

Napi::Object Model::Wrap(Napi::Env env, hkv_model *model) {
  return GetAddonData(env).model_constructor.New({Napi::External<hkv_model>::New(env, model)});
}

Model::Model(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Model>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(env, "Model cannot be constructed directly: use loadModel(dir)");
  }
  model_ = std::shared_ptr<hkv_model>(info[0].As<Napi::External<hkv_model>>().Data(), hkv_model_free);
  ThrowIfFailed(env, hkv_model_get_info(model_.get(), &info_));
}

Model::~Model() = default;

const std::shared_ptr<hkv_model> &Model::Handle(Napi::Env env, const char *operation) const {
  if (!model_) throw Napi::Error::New(env, std::string("model.") + operation + "(): the model was disposed");
  return model_;
}

Napi::Value Model::GetInfo(const Napi::CallbackInfo &info) {
  Handle(info.Env(), "info");
  return ModelInfoToJs(info.Env(), info_);
}

Napi::Value Model::CreateContext(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<hkv_model> &model = Handle(env, "createContext");
  hkv_context_params params = ContextParamsFromJs(env, info.Length() > 0 ? info[0] : env.Undefined());
  hkv_context *context = nullptr;
  ThrowIfFailed(env, hkv_context_create(model.get(), &params, &context));
  return Context::Wrap(env, ContextInit{context, params, model, info_});
}

Napi::Value Model::Dispose(const Napi::CallbackInfo &info) {
  if (model_ && model_.use_count() > 1) {
    throw Napi::Error::New(info.Env(), "model.dispose(): " + std::to_string(model_.use_count() - 1) +
                                           " context(s) still use this model: dispose them first");
  }
  model_.reset();
  return info.Env().Undefined();
}

Napi::Value Model::IsDisposed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), !model_); }

}  // namespace headkv_addon
