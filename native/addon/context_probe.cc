// context_probe.cc: Context.attachProbe() and Context.probeScores(), the head-importance probes
// (HeadKV-R / HeadKV-R2 scoring) of a full-cache sequence.
#include <cmath>
#include <string>

#include "context.h"
#include "engine_error.h"

namespace headkv_addon {
namespace {

hkv_probe_rule ProbeRuleFromJs(Napi::Env env, Napi::Value value) {
  std::string rule = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (rule == "retrieval") return HKV_PROBE_RETRIEVAL;
  if (rule == "retrieval-reasoning") return HKV_PROBE_RETRIEVAL_REASONING;
  throw Napi::TypeError::New(env, "context.attachProbe(id, rule, spanBegin, spanEnd): rule must be 'retrieval' or "
                                  "'retrieval-reasoning'");
}

int32_t SpanBoundFromJs(Napi::Env env, Napi::Value value, const char *name) {
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1;
  if (number != std::floor(number) || number < 0 || number > 2147483647.0) {
    throw Napi::TypeError::New(env, std::string("context.attachProbe: ") + name + " must be a non-negative integer");
  }
  return static_cast<int32_t>(number);
}

}  // namespace

Napi::Value Context::AttachProbe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "attachProbe");
  int32_t id = SequenceIdFromJs(env, info[0]);
  hkv_probe_rule rule = ProbeRuleFromJs(env, info[1]);
  int32_t span_begin = SpanBoundFromJs(env, info[2], "spanBegin");
  int32_t span_end = SpanBoundFromJs(env, info[3], "spanEnd");
  ThrowIfFailed(env, hkv_seq_attach_probe(context, id, rule, span_begin, span_end));
  return env.Undefined();
}

Napi::Value Context::ProbeScores(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  hkv_context *context = Idle(env, "probeScores");
  int32_t id = SequenceIdFromJs(env, info[0]);
  int32_t n = model_info_.n_layers * model_info_.n_heads;
  Napi::Float64Array scores = Napi::Float64Array::New(env, static_cast<size_t>(n));
  ThrowIfFailed(env, hkv_seq_get_probe_scores(context, id, scores.Data(), n));
  return scores;
}

}  // namespace headkv_addon
