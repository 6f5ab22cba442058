// plan.cpp: parameter validation and per-head budgets (HEADKV.md sections 3, 6 and 7).
// The reference implementation computes in Python floats; the helpers below reproduce its
// arithmetic (floor division of floats, round-half-even) so that the published budgets come
// out exactly.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>

#include "compress/compress.h"
#include "error.h"

namespace hkv {

namespace {

// PyramidKV's shape parameter (the reference's pyram_beta): the top layer keeps b / 20.
constexpr int kPyramidBeta = 20;

[[noreturn]] void invalid(const std::string &field, const std::string &what) {
  throw Error(HKV_ERR_INVALID_ARGUMENT, "kv_compression." + field + ": " + what);
}

std::string show(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The C ABI carries beta and temp as float; 1.2f is 1.2000000476837158, not the 1.2 the
// reference's Python sees. Reading the float's shortest decimal form back as a double gives
// the value the caller typed, so b // beta matches the reference at exact multiples too.
double typed_value(float f) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, f);
  return std::strtod(std::string(buf, res.ptr).c_str(), nullptr);
}

// Python's float floor division a // b (CPython float_floor_div), for b > 0.
double python_floordiv(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0.0) return std::copysign(0.0, a / b);
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return floordiv;
}

void validate(const Config &cfg, const hkv_kv_params &kv, int n_prompt) {
  if (kv.method < HKV_KV_FULL || kv.method > HKV_KV_HEADKV)
    invalid("method", "unknown method " + std::to_string(int(kv.method)));
  if (kv.granularity != HKV_GRANULARITY_KV_HEAD && kv.granularity != HKV_GRANULARITY_QUERY_HEAD)
    invalid("granularity", "must be 0 (kv-head) or 1 (query-head), got " + std::to_string(int(kv.granularity)));
  if (n_prompt < 1) invalid("n_prompt", "must be >= 1, got " + std::to_string(n_prompt));
  if (kv.method == HKV_KV_FULL) return;
  if (kv.window < 1) invalid("window", "must be >= 1, got " + std::to_string(kv.window));
  if (kv.kv_size < kv.window + 1)
    invalid("kv_size", "must be >= window + 1 (" + std::to_string(kv.window + 1) + "), got " +
                           std::to_string(kv.kv_size));
  if (kv.pool_kernel < 1 || kv.pool_kernel % 2 == 0)
    invalid("pool_kernel", "must be an odd number >= 1, got " + std::to_string(kv.pool_kernel));
  if (kv.cap_at_prompt != 0 && kv.cap_at_prompt != 1)
    invalid("cap_at_prompt", "must be 0 or 1, got " + std::to_string(kv.cap_at_prompt));
  if (kv.group_aggregation != 0 && kv.group_aggregation != 1)
    invalid("group_aggregation", "must be 0 (mean) or 1 (max), got " + std::to_string(kv.group_aggregation));
  if (kv.method != HKV_KV_HEADKV) return;
  if (!std::isfinite(kv.beta) || kv.beta < 1.0f)
    invalid("beta", "must be a finite number >= 1, got " + show(kv.beta));
  if (!std::isfinite(kv.temp) || kv.temp <= 0.0f)
    invalid("temp", "must be a finite number > 0, got " + show(kv.temp));
  if (kv.head_scores == nullptr) invalid("head_scores", "required for headkv (one score per layer and query head)");
  const int n = cfg.n_layers * cfg.n_heads;
  bool any_positive = false;
  for (int i = 0; i < n; ++i) {
    const float s = kv.head_scores[i];
    if (!std::isfinite(s) || s < 0.0f)
      invalid("head_scores", "score of layer " + std::to_string(i / cfg.n_heads) + " head " +
                                 std::to_string(i % cfg.n_heads) + " must be finite and >= 0, got " + show(s));
    if (s > 0.0f) any_positive = true;
  }
  if (!any_positive) invalid("head_scores", "all scores are zero");
}

// Splits `total` into integers proportional to `weights` (largest remainder; ties go to the
// lower index), so that the parts sum to `total` exactly. Zero total weight: equal weights.
std::vector<int64_t> apportion(int64_t total, const std::vector<double> &weights) {
  const size_t n = weights.size();
  std::vector<int64_t> parts(n, 0);
  if (n == 0 || total <= 0) return parts;
  double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  const bool uniform = !(sum > 0.0);
  if (uniform) sum = double(n);
  std::vector<double> frac(n);
  int64_t given = 0;
  for (size_t i = 0; i < n; ++i) {
    const double exact = double(total) * (uniform ? 1.0 : weights[i]) / sum;
    parts[i] = int64_t(std::floor(exact));
    frac[i] = exact - double(parts[i]);
    given += parts[i];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return frac[a] > frac[b]; });
  // Rounding of the exact shares can leave `given` a unit off either way.
  for (size_t k = 0; given < total; ++k, ++given) ++parts[order[k % n]];
  for (size_t k = n; given > total && k-- > 0;) {
    if (parts[order[k]] > 0) {
      --parts[order[k]];
      --given;
    }
  }
  return parts;
}

// HEADKV.md section 3 over all L*H query heads (reference ReasonSnapKVCluster).
std::vector<int64_t> headkv_query_head_caps(const Config &cfg, const hkv_kv_params &kv,
                                            std::vector<double> &normalized) {
  const int n = cfg.n_layers * cfg.n_heads;
  normalized.assign(kv.head_scores, kv.head_scores + n);
  const double temp = typed_value(kv.temp);
  double sum = 0.0;
  for (double s : normalized) sum += s;
  for (double &s : normalized) s = std::pow(s / sum, temp);
  sum = 0.0;
  for (double s : normalized) sum += s;
  for (double &s : normalized) s /= sum;

  const double b = double(kv.kv_size - kv.window);
  const double per_head_pool = python_floordiv(b, typed_value(kv.beta));
  const double pool = per_head_pool * cfg.n_layers * cfg.n_heads;
  const double floor_tokens = b - per_head_pool;
  std::vector<int64_t> caps(n);
  // std::nearbyint in the default rounding mode is round-half-even, like torch.round.
  for (int i = 0; i < n; ++i) caps[i] = int64_t(std::nearbyint(normalized[i] * pool + floor_tokens));
  return caps;
}

// kv-head granularity: each KV head's share is its group's total divided by the group size;
// largest remainder (ties: lower layer-major index) keeps the grand total at floor(total/group).
std::vector<int64_t> to_kv_heads(const Config &cfg, const std::vector<int64_t> &query_caps) {
  const int group = cfg.group();
  const int n_kv = cfg.n_layers * cfg.n_kv_heads;
  std::vector<int64_t> sums(n_kv, 0);
  int64_t total = 0;
  for (int i = 0; i < n_kv; ++i) {
    for (int j = 0; j < group; ++j) sums[i] += query_caps[size_t(i) * group + j];
    total += sums[i];
  }
  std::vector<int64_t> caps(n_kv);
  int64_t given = 0;
  for (int i = 0; i < n_kv; ++i) {
    caps[i] = sums[i] / group;
    given += caps[i];
  }
  std::vector<int> order(n_kv);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return sums[a] % group > sums[b] % group; });
  for (int k = 0; given < total / group; ++k, ++given) ++caps[order[k]];
  return caps;
}

// Caps every head at `limit` tokens and hands the surplus to the heads below the limit in
// proportion to their weights, until no head exceeds it.
void cap_and_redistribute(std::vector<int64_t> &caps, const std::vector<double> &weights, int64_t limit) {
  std::vector<bool> full(caps.size(), false);
  for (;;) {
    int64_t surplus = 0;
    for (size_t i = 0; i < caps.size(); ++i) {
      if (caps[i] >= limit) {
        surplus += caps[i] - limit;
        caps[i] = limit;
        full[i] = true;
      }
    }
    if (surplus == 0) return;
    std::vector<size_t> open;
    std::vector<double> open_weights;
    for (size_t i = 0; i < caps.size(); ++i) {
      if (!full[i]) {
        open.push_back(i);
        open_weights.push_back(weights[i]);
      }
    }
    if (open.empty()) return;  // every head holds the whole prefix: nothing left to give
    const std::vector<int64_t> extra = apportion(surplus, open_weights);
    for (size_t k = 0; k < open.size(); ++k) caps[open[k]] += extra[k];
  }
}

}  // namespace

int cache_heads_for(const Config &cfg, hkv_kv_granularity granularity) {
  return granularity == HKV_GRANULARITY_QUERY_HEAD ? cfg.n_heads : cfg.n_kv_heads;
}

CompressionPlan plan_compression(const Config &cfg, const hkv_kv_params &kv, int n_prompt) {
  validate(cfg, kv, n_prompt);
  CompressionPlan plan;
  plan.cache_heads = cache_heads_for(cfg, kv.granularity);
  const size_t n_cache = size_t(cfg.n_layers) * plan.cache_heads;
  plan.compress = kv.method != HKV_KV_FULL && n_prompt > kv.kv_size;
  if (!plan.compress) {
    // Every head keeps the whole prompt: caps + window == n_prompt.
    plan.window = kv.method == HKV_KV_FULL ? 0 : std::min(kv.window, n_prompt);
    plan.caps.assign(n_cache, n_prompt - plan.window);
    return plan;
  }
  plan.window = kv.window;
  const int b = kv.kv_size - kv.window;  // selected prefix tokens per head on average
  const int prefix = n_prompt - kv.window;
  plan.caps.assign(n_cache, b);
  switch (kv.method) {
    case HKV_KV_SNAPKV:
    case HKV_KV_ADA_SNAPKV:  // ada-snapkv: the per-layer total cache_heads * b is split at selection
      break;
    case HKV_KV_PYRAMIDKV: {
      // Reference (HeadKV's SnapKVCluster pyram_mode): integer floor divisions on non-negative values.
      int min_num = b / kPyramidBeta;
      int max_num = b * 2 - min_num;
      if (max_num >= prefix) {
        max_num = prefix;
        min_num = b * 2 - max_num;
      }
      // A one-layer model has no slope (the reference divides by zero): it keeps b.
      const int steps = cfg.n_layers > 1 ? (max_num - min_num) / (cfg.n_layers - 1) : 0;
      for (int l = 0; l < cfg.n_layers; ++l) {
        const int cap = cfg.n_layers > 1 ? max_num - l * steps : b;
        std::fill_n(plan.caps.begin() + size_t(l) * plan.cache_heads, plan.cache_heads, cap);
      }
      break;
    }
    case HKV_KV_HEADKV: {
      std::vector<double> normalized;
      std::vector<int64_t> caps = headkv_query_head_caps(cfg, kv, normalized);
      std::vector<double> weights = normalized;
      if (kv.granularity == HKV_GRANULARITY_KV_HEAD && cfg.group() > 1) {
        caps = to_kv_heads(cfg, caps);
        const int group = cfg.group();
        weights.assign(n_cache, 0.0);
        for (size_t i = 0; i < n_cache; ++i)
          for (int j = 0; j < group; ++j) weights[i] += normalized[i * group + j];
      }
      if (kv.cap_at_prompt) cap_and_redistribute(caps, weights, prefix);
      for (size_t i = 0; i < n_cache; ++i) plan.caps[i] = int32_t(std::min<int64_t>(caps[i], INT32_MAX));
      break;
    }
    case HKV_KV_FULL:
      break;
  }
  return plan;
}

}  // namespace hkv
