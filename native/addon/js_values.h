// js_values.h: conversions between JavaScript values and the engine's C structs. Every JavaScript
// value is converted here, on the JavaScript thread, before any worker runs.
#pragma once

#include <napi.h>

#include <vector>

#include "headkv.h"

namespace headkv_addon {

Napi::Object ModelInfoToJs(Napi::Env env, const hkv_model_info &info);
Napi::Object ContextStatsToJs(Napi::Env env, const hkv_context_stats &stats);
Napi::Object SequenceInfoToJs(Napi::Env env, const hkv_seq_info &info);
const char *FinishReasonName(hkv_finish_reason finish);

// {maxSequences, pageTokens, kvCacheBytes, prefillChunk, maxContext}; absent fields keep the
// engine's defaults.
hkv_context_params ContextParamsFromJs(Napi::Env env, Napi::Value value);

// The parameters of one sequence, with the arrays that the C structs point into. Kept by the
// context for the sequence's whole life because the engine may read them after hkv_seq_add.
struct SequenceInputs {
  std::vector<int32_t> stop_token_ids;
  std::vector<float> head_scores;
  hkv_sampling_params sampling{};
  hkv_kv_params kv{};

  // Points sampling.stop_token_ids and kv.head_scores at this object's vectors.
  void BindArrays();
};

// sampling: {temperature, topK, topP, seed, maxNewTokens, stopTokenIds};
// kv: {method, kvSize, window, poolKernel, beta, temp, granularity, capAtPrompt, groupAggregation,
// headScores}. `expected_scores` is n_layers * n_heads of the model.
SequenceInputs SequenceInputsFromJs(Napi::Env env, Napi::Value sampling, Napi::Value kv, size_t expected_scores);

// An Int32Array or an array of integers.
std::vector<int32_t> Int32VectorFromJs(Napi::Env env, Napi::Value value, const char *what);

}  // namespace headkv_addon
