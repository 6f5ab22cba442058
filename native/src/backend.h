// backend.h: the forward pass of one device. The context keeps the device-independent part of a
// session (sequences, admission, the per-sequence random draws, stopping); a backend runs the
// model, stores the kept keys and values in the pages the context's PagePool hands out, keeps
// each sequence's last logits where it computed them (in the row of the sequence's slot), and
// picks tokens from them.
#pragma once

#include <cstdint>
#include <vector>

#include "headkv.h"
#include "kv_cache.h"
#include "sampler.h"
#include "sequence.h"

namespace hkv {

class Backend {
 public:
  virtual ~Backend() = default;

  // Runs the whole prompt of `seq` layer by layer, keeps each head's selected tokens (per
  // seq.plan) in pages taken from `pool`, and keeps the last position's logits in the row of
  // seq.slot. Checks seq.cancelled between layers (throws HKV_ERR_CANCELLED); reports progress.
  virtual void prefill(Sequence &seq, PagePool &pool, hkv_progress_fn progress, void *user) = 0;

  // Feeds every sequence of the batch its last generated token at position seq.n_past,
  // appends its key and value to every cache head, and keeps each sequence's logits in the row
  // of its slot.
  virtual void decode(const std::vector<Sequence *> &batch, PagePool &pool) = 0;

  // tokens[i] = pick_token(logits of seqs[i]'s slot, draws[i]): every row in one go, where the
  // logits are; only the tokens come back.
  virtual void sample(const std::vector<Sequence *> &seqs, const std::vector<TokenDraw> &draws,
                      std::vector<int32_t> &tokens) = 0;

  // Copies the logits row of slot `slot` (vocab floats) to the host.
  virtual void read_logits(int32_t slot, float *out) const = 0;
  // Copies the logits row of slot src into slot dst (a fork).
  virtual void copy_logits(int32_t src, int32_t dst) = 0;

  // Copies the content of page src into page dst (both taken from the context's pool).
  virtual void copy_page(int32_t src, int32_t dst) = 0;
};

}  // namespace hkv
