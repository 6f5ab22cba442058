// test_compress_probe.cpp: the HeadKV-R and HeadKV-R2 scoring rules on synthetic attention rows.
#include <string>
#include <vector>

#include "compress/probe_scoring.h"
#include "test_loader_support.h"

using hkv::RetrievalProbe;
using hkv::RetrievalReasoningProbe;
using hkv_test::expect_error;

namespace {

// Weights are float32: compare at float precision.
bool near(double a, double b) { return a - b < 1e-6 && b - a < 1e-6; }

void test_retrieval() {
  // Prompt tokens 10..14, needle span [2, 4) (tokens 12, 13). One layer, two heads.
  RetrievalProbe probe(2, 4, {10, 11, 12, 13, 14}, 1, 2);
  const int32_t positions[] = {0, 1, 2, 3, 4};
  const float looks_at_2[] = {0.1f, 0.1f, 0.5f, 0.2f, 0.1f};
  const float looks_at_0[] = {0.6f, 0.1f, 0.1f, 0.1f, 0.1f};
  // Step 1: head 0 attends to position 2 and the model copies its token 12 -> +1/2.
  probe.on_attention(0, 0, looks_at_2, positions, 5);
  probe.on_attention(0, 1, looks_at_0, positions, 5);
  probe.on_token(12);
  CHECK(near(probe.scores()[0], 0.5));
  CHECK(near(probe.scores()[1], 0.0));
  // Step 2: head 0 again at position 2 but the token is not a copy -> nothing.
  probe.on_attention(0, 0, looks_at_2, positions, 5);
  probe.on_attention(0, 1, looks_at_2, positions, 5);
  probe.on_token(13);
  CHECK(near(probe.scores()[0], 0.5));
  CHECK(near(probe.scores()[1], 0.0));
  // Step 3: equal weights on 3 and 4: the lower position (3, in the span, token 13) wins,
  // listed in any cache order.
  const int32_t shuffled[] = {4, 3, 0};
  const float tie[] = {0.4f, 0.4f, 0.2f};
  probe.on_attention(0, 1, tie, shuffled, 3);
  probe.on_token(13);
  CHECK(near(probe.scores()[1], 0.5));
  // A step whose attention was not reported for a head credits nothing to it.
  probe.on_token(12);
  CHECK(near(probe.scores()[0], 0.5));
  CHECK_EQ_NUM(probe.steps(), 4);
  // Generated positions (beyond the prompt) are never in the span.
  const int32_t generated[] = {5, 6};
  const float gen[] = {0.9f, 0.1f};
  probe.on_attention(0, 0, gen, generated, 2);
  probe.on_token(12);
  CHECK(near(probe.scores()[0], 0.5));
}

void test_retrieval_reasoning() {
  // Span [1, 3): N = 2. Two layers, one head each.
  RetrievalReasoningProbe probe(1, 3, 5, 2, 1);
  const int32_t positions[] = {0, 1, 2, 3, 4};
  const float both_in_span[] = {0.1f, 0.4f, 0.3f, 0.15f, 0.05f};  // top 2: 1, 2 -> (0.4+0.3)/2
  const float one_in_span[] = {0.5f, 0.05f, 0.3f, 0.1f, 0.05f};   // top 2: 0, 2 -> 0.3/2
  probe.on_attention(0, 0, both_in_span, positions, 5);
  probe.on_attention(1, 0, one_in_span, positions, 5);
  // Nothing is credited before the step's token is known.
  CHECK(near(probe.scores()[0], 0.0));
  probe.on_token(99);  // no copy check
  CHECK(near(probe.scores()[0], (0.4 + 0.3) / 2));
  CHECK(near(probe.scores()[1], 0.3 / 2));
  // Uniform weights: the top 2 are positions 0 and 1 (lower first): only 1 counts.
  const float uniform[] = {0.25f, 0.25f, 0.25f, 0.25f};
  probe.on_attention(0, 0, uniform, positions, 4);
  probe.on_token(7);
  CHECK(near(probe.scores()[0], 0.35 + 0.125));
  CHECK(near(probe.scores()[1], 0.15));
  // Fewer cached entries than N: all of them are the top.
  const float single[] = {1.0f};
  const int32_t at_2[] = {2};
  probe.on_attention(1, 0, single, at_2, 1);
  probe.on_token(7);
  CHECK(near(probe.scores()[1], 0.15 + 0.5));
  CHECK_EQ_NUM(probe.steps(), 3);
}

void test_errors() {
  expect_error(
      "empty span", [] { RetrievalReasoningProbe(3, 3, 10, 1, 1); }, HKV_ERR_INVALID_ARGUMENT, {"probe.span", "[3, 3)"});
  expect_error(
      "span past the prompt", [] { RetrievalProbe(2, 6, {1, 2, 3, 4, 5}, 1, 1); }, HKV_ERR_INVALID_ARGUMENT,
      {"probe.span", "5-token prompt"});
  RetrievalReasoningProbe probe(0, 1, 4, 1, 2);
  const float p[] = {1.0f};
  const int32_t pos[] = {0};
  expect_error(
      "head out of range", [&] { probe.on_attention(0, 2, p, pos, 1); }, HKV_ERR_INTERNAL, {"layer 0 head 2"});
}

}  // namespace

int main() {
  test_retrieval();
  test_retrieval_reasoning();
  test_errors();
  return hkv_test::finish("test_compress_probe");
}
