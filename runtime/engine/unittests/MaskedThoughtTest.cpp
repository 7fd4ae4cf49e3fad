//===- MaskedThoughtTest.cpp - Input masks of Masked Thought --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// METHODS.md's test of Masked Thought: the share of masked response inputs is
// p (within a binomial confidence interval), prompt inputs are never masked,
// the targets and weights are those of the unmasked batch, and p = 0 changes
// nothing.
//
//===----------------------------------------------------------------------===//

#include "../lib/TermData.h"

#include "gtest/gtest.h"

#include <cmath>

using namespace ftl::rt;

namespace {

constexpr int64_t kSeq = 64, kPrompt = 20, kRows = 60;

/// Rows of one document each: kPrompt prompt tokens (weight 0), then
/// response tokens (weight 1), then padding.
std::vector<PackedRow> rows() {
  std::vector<PackedRow> out(kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    PackedRow &row = out[r];
    int64_t length = 40 + r % 20;
    for (int64_t i = 0; i < kSeq; ++i) {
      bool pad = i >= length;
      row.ids.push_back(pad ? 0 : int32_t(10 + (i * 7 + r) % 200));
      row.weights.push_back(pad || i < kPrompt ? 0.0f : 1.0f);
      row.segmentIds.push_back(pad ? -1 : 0);
      row.positions.push_back(pad ? 0 : int32_t(i));
    }
  }
  return out;
}

/// Two identical batches of rows(): one to mask, one to compare against.
struct BatchPair {
  TermBatch masked, plain;
  BatchPair() {
    fillBatch(rows(), kSeq, false, masked);
    fillBatch(rows(), kSeq, false, plain);
  }
};

InputMask maskOf(double rate, const char *span, int32_t maskId) {
  InputMask mask;
  mask.rate = rate;
  mask.span = span;
  mask.maskId = maskId;
  return mask;
}

TEST(MaskedThoughtTest, MasksAboutPOfTheResponseInputsAndNothingElse) {
  BatchPair b;
  const TermBatch &plain = b.plain, &masked = b.masked;
  Rng rng(5);
  int64_t replaced = maskInputs(b.masked, maskOf(0.3, "thought", 258), rng);
  int64_t responseInputs = 0, counted = 0;
  for (size_t i = 0; i < plain.ids.size(); ++i) {
    int64_t pos = int64_t(i) % kSeq;
    bool response = pos >= kPrompt && plain.segments[i] >= 0;
    responseInputs += response;
    if (masked.ids[i] != plain.ids[i]) {
      ++counted;
      EXPECT_TRUE(response) << "a prompt or padding input was masked at " << i;
      EXPECT_EQ(masked.ids[i], 258);
    }
  }
  EXPECT_EQ(counted, replaced);
  // Binomial: mean n p, standard deviation sqrt(n p (1 - p)); 4 sigma.
  double n = double(responseInputs), mean = n * 0.3,
         sd = std::sqrt(n * 0.3 * 0.7);
  EXPECT_NEAR(double(replaced), mean, 4 * sd) << "of " << responseInputs;
  // Labels are those of the unmasked batch.
  EXPECT_EQ(masked.targets, plain.targets);
  EXPECT_EQ(masked.weights, plain.weights);
  EXPECT_EQ(masked.totalWeight, plain.totalWeight);
}

TEST(MaskedThoughtTest, PromptSpanMasksOnlyThePrompt) {
  BatchPair b;
  Rng rng(9);
  EXPECT_GT(maskInputs(b.masked, maskOf(0.5, "prompt", 1), rng), 0);
  for (size_t i = 0; i < b.masked.ids.size(); ++i)
    if (b.masked.ids[i] != b.plain.ids[i]) {
      int64_t pos = int64_t(i) % kSeq;
      EXPECT_TRUE(pos >= 1 && pos < kPrompt) << i;
    }
}

TEST(MaskedThoughtTest, RateZeroChangesNothing) {
  BatchPair b;
  Rng rng(1), untouched(1);
  EXPECT_EQ(maskInputs(b.masked, maskOf(0, "thought", 1), rng), 0);
  EXPECT_EQ(b.masked.ids, b.plain.ids);
  // No draw either: the stream is where it was.
  EXPECT_EQ(rng.next(), untouched.next());
}

} // namespace
