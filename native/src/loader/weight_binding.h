// weight_binding.h: Hugging Face tensor names -> hkv::Weights, with every shape checked against
// the Config. f32 tensors are used in place inside the mapping; f16/bf16 (and misaligned f32)
// tensors are converted into one owned fp32 buffer.
#pragma once

#include <cstdint>
#include <string>

#include "loader/aligned_buffer.h"
#include "loader/checkpoint.h"
#include "model.h"

namespace hkv::loader {

struct BoundWeights {
  Weights weights;
  AlignedBuffer converted;   // backs the converted tensors; pointers into it are in `weights`
  int64_t n_params = 0;      // elements of every bound tensor (a tied lm_head counted once)
  DType dominant_dtype = DType::F32;  // the dtype holding most of those elements
};

// `config_file` names config.json in messages. Throws hkv::Error: FORMAT for a missing tensor
// or a wrong shape, UNSUPPORTED for a dtype other than F32/F16/BF16, OUT_OF_MEMORY.
BoundWeights bind_weights(const Config &cfg, const Checkpoint &checkpoint, const std::string &config_file);

}  // namespace hkv::loader
