// test_sampled_decode.h: the check that a backend samples each sequence's tokens with the
// reference sampler (sampler.h): used on the CPU by test_engine and on the GPU by
// test_cuda_backend.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>
#include <vector>

#include "headkv.h"
#include "sampler.h"
#include "test_loader_support.h"

namespace hkv_test {

// pick_token's candidates of a sampled draw, in its order (value descending, id ascending),
// top_k applied, with their unnormalised probabilities (float exp, as pick_token).
inline std::vector<std::pair<double, int32_t>> ranked_candidates(const float *row, int vocab, const hkv::TokenDraw &d) {
  std::vector<std::pair<float, int32_t>> c(vocab);
  for (int i = 0; i < vocab; i++) c[i] = {row[i] / d.temperature, i};
  std::sort(c.begin(), c.end(), [](const auto &a, const auto &b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (d.top_k > 0 && d.top_k < vocab) c.resize(d.top_k);
  std::vector<std::pair<double, int32_t>> out(c.size());
  for (size_t i = 0; i < c.size(); i++) out[i] = {(double)std::exp(c[i].first - c[0].first), c[i].second};
  return out;
}

// How far a sampled draw is from changing its token, as a share of the probability it chooses
// from: the distance of uniform * (kept sum) to the nearest boundary of the chosen candidate,
// and of top_p to the cumulative probabilities around the cut. Rounding (the GPU's expf, the
// order of the sums) moves boundaries by about 1e-9 of the total.
inline double draw_margin(const float *row, int vocab, const hkv::TokenDraw &d) {
  if (d.temperature <= 0.f) return INFINITY;  // greedy: an exact argmax on both sides
  const auto c = ranked_candidates(row, vocab, d);
  double total = 0;
  for (const auto &x : c) total += x.first;
  double margin = INFINITY, kept = total;
  size_t n = c.size();
  if (d.top_p > 0.f && d.top_p < 1.f) {
    double cum = 0;
    for (size_t i = 0; i < c.size(); i++) {
      margin = std::min(margin, std::fabs(cum / total - d.top_p));
      cum += c[i].first;
      margin = std::min(margin, std::fabs(cum / total - d.top_p));
      if (cum / total >= d.top_p) {
        n = i + 1;
        kept = cum;
        break;
      }
    }
  }
  const double r = d.uniform * kept;
  double cum = 0;
  for (size_t i = 0; i < n; i++) {
    margin = std::min(margin, std::fabs(r - cum) / kept);
    cum += c[i].first;
    if (cum > r) return std::min(margin, (cum - r) / kept);
  }
  return margin;
}

// A short temperature-sampled decode through the C ABI: four
// sequences with different rules (greedy, temperature, top-k, top-p) step together, one is
// forked halfway. Every token must be pick_token on the logits of the prefill or step that
// produced it (read back with hkv_seq_get_logits) with the next draw of a host Sampler made
// from the same parameters: the backend sampled each row from the right sequence, with that
// sequence's own random stream. A fork starts with its source's logits, exactly. Returns each
// sequence's tokens.
inline std::vector<std::vector<int32_t>> sampled_decode(hkv_context *ctx, int vocab, const std::vector<int32_t> &prompt,
                                                 const char *label) {
  std::vector<hkv_sampling_params> params(4, hkv_sampling_default_params());
  params[1].temperature = 0.8f;
  params[2].temperature = 1.2f;
  params[2].top_k = 20;
  params[3].temperature = 1.0f;
  params[3].top_p = 0.9f;
  for (size_t i = 0; i < params.size(); i++) {
    params[i].max_new_tokens = 8;
    params[i].seed = 77 + i;
  }
  hkv_sampling_params fork_params = params[3];
  fork_params.seed = 5;
  fork_params.temperature = 0.6f;
  std::vector<int32_t> ids;
  std::vector<hkv::Sampler> replay;
  std::vector<std::vector<float>> last;  // each sequence's logits of its last prefill or step
  std::vector<std::vector<int32_t>> tokens;
  std::vector<std::pair<float, int32_t>> scratch;
  int checked = 0, mismatches = 0;
  auto logits_of = [&](int32_t id) {
    std::vector<float> l(vocab);
    if (hkv_seq_get_logits(ctx, id, l.data(), vocab) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: hkv_seq_get_logits: %s\n", label, hkv_last_error());
      ++hkv_test::failures();
    }
    return l;
  };
  int near_boundary = 0;  // draws within 1e-6 of a boundary, where rounding may pick the neighbour
  auto expect = [&](size_t s, int32_t token) {
    const hkv::TokenDraw draw = replay[s].next_draw();
    const int32_t ref = hkv::pick_token(last[s].data(), vocab, draw, scratch);
    checked++;
    if (draw_margin(last[s].data(), vocab, draw) < 1e-6) near_boundary++;
    else if (token != ref) mismatches++;
  };
  for (const auto &sp : params) {
    hkv_kv_params kv = hkv_kv_default_params();
    int32_t id = -1, token = -1;
    if (hkv_seq_add(ctx, prompt.data(), (int32_t)prompt.size(), &sp, &kv, &id) != HKV_OK ||
        hkv_seq_prefill(ctx, id, nullptr, nullptr, &token) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s: %s\n", label, hkv_last_error());
      ++hkv_test::failures();
      return {};
    }
    ids.push_back(id);
    replay.emplace_back(sp);
    last.push_back(logits_of(id));
    tokens.push_back({token});
    expect(ids.size() - 1, token);
  }
  for (int step = 0; step < 7; step++) {
    if (step == 3) {
      int32_t forked = -1;
      if (hkv_seq_fork(ctx, ids[3], &fork_params, &forked) != HKV_OK) {
        std::fprintf(stderr, "FAIL %s fork: %s\n", label, hkv_last_error());
        ++hkv_test::failures();
        return {};
      }
      const std::vector<float> copied = logits_of(forked);
      if (copied != last[3]) {
        std::fprintf(stderr, "FAIL %s fork: the fork's logits differ from its source's\n", label);
        ++hkv_test::failures();
      }
      ids.push_back(forked);
      replay.emplace_back(fork_params);
      last.push_back(copied);
      tokens.push_back(tokens[3]);
    }
    std::vector<hkv_step_token> out(ids.size());
    int32_t n_out = 0;
    if (hkv_step(ctx, out.data(), (int32_t)out.size(), &n_out) != HKV_OK) {
      std::fprintf(stderr, "FAIL %s step: %s\n", label, hkv_last_error());
      ++hkv_test::failures();
      return {};
    }
    for (int i = 0; i < n_out; i++) {
      const size_t s = std::find(ids.begin(), ids.end(), out[i].seq_id) - ids.begin();
      if (s == ids.size() || out[i].token < 0) continue;
      last[s] = logits_of(ids[s]);
      expect(s, out[i].token);
      tokens[s].push_back(out[i].token);
    }
  }
  for (int32_t id : ids) hkv_seq_remove(ctx, id);
  std::printf("  %s: %d tokens, %d differ from pick_token on the backend's logits (%d draws next to a boundary not "
              "compared)\n", label, checked, mismatches, near_boundary);
  if (mismatches > 0 || checked - near_boundary < 30) {
    std::fprintf(stderr, "FAIL %s: %d of %d tokens are not the reference sampler's\n", label, mismatches, checked);
    ++hkv_test::failures();
  }
  return tokens;
}

}  // namespace hkv_test
