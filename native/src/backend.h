// backend.h: the forward pass of one device. The context keeps the device-independent part of a
// session (sequences, admission, sampling, stopping); a backend runs the model and stores the
// kept keys and values in the pages the context's PagePool hands out.
#pragma once

#include <cstdint>
#include <vector>

#include "headkv.h"
#include "kv_cache.h"
#include "sequence.h"

namespace hkv {

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs the whole prompt of `seq` layer by layer, keeps each head's selected tokens (per
  // seq.plan) in pages taken from `pool`, and leaves the last position's logits in seq.logits.
  // Checks seq.cancelled between layers (throws HKV_ERR_CANCELLED); reports progress.
  virtual void prefill(Sequence &seq, PagePool &pool, hkv_progress_fn progress, void *user) = 0;

  // Feeds every sequence of the batch its last generated token at position seq.n_past,
  // appends its key and value to every cache head, and writes logits [batch][vocab].
  virtual void decode(const std::vector<Sequence *> &batch, PagePool &pool, std::vector<float> &logits) = 0;

  // Copies the content of page src into page dst (both taken from the context's pool).
  virtual void copy_page(int32_t src, int32_t dst) = 0;
};

}  // namespace hkv
