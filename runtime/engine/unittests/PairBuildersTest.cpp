//===- PairBuildersTest.cpp - best_worst, gold_pairs, with_feedback -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "../lib/PairBuilders.h"

#include "gtest/gtest.h"

using namespace ftl::rt;
using Field = ftl::rt::Value;

namespace {

Record sample(const std::string &prompt, const std::string &response,
              double score, bool pass, const std::string &feedback = "") {
  return Record({{"prompt", Field(prompt)},
                 {"response", Field(response)},
                 {"reference", Field("ref-" + prompt)},
                 {"score", Field(score)},
                 {"pass", Field(pass)},
                 {"feedback", Field(feedback)}});
}

std::string str(const Record &r, const char *field) {
  return r.get(field)->getString().str();
}

TEST(PairBuildersTest, BestWorstTakesExtremesPerPromptAndSkipsTies) {
  std::vector<Record> judged = {
      sample("a", "a1", 0.2, false), sample("b", "b1", 1.0, true),
      sample("a", "a2", 0.9, true),  sample("b", "b2", 1.0, true),
      sample("a", "a3", 0.1, false), sample("c", "c1", 0.5, false)};
  auto pairs = bestWorstPairs(judged, "score");
  ASSERT_TRUE(bool(pairs)) << llvm::toString(pairs.takeError());
  // b ties (no preference) and c has one sample: only a makes a pair.
  ASSERT_EQ(pairs->size(), 1u);
  EXPECT_EQ(str((*pairs)[0], "prompt"), "a");
  EXPECT_EQ(str((*pairs)[0], "chosen"), "a2");
  EXPECT_EQ(str((*pairs)[0], "rejected"), "a3");
  EXPECT_EQ((*pairs)[0].get("chosen_score")->getNumber(), 0.9);
}

TEST(PairBuildersTest, BestWorstNeedsScores) {
  std::vector<Record> unjudged = {Record({{"prompt", Field("a")}})};
  auto pairs = bestWorstPairs(unjudged, "score");
  ASSERT_FALSE(bool(pairs));
  EXPECT_NE(llvm::toString(pairs.takeError()).find("judge the samples first"),
            std::string::npos);
}

TEST(PairBuildersTest, GoldPairsPutTheGoldAnswerFirst) {
  std::vector<Record> gold = {
      Record({{"prompt", Field("1+1=")}, {"response", Field("2")}}),
      Record({{"prompt", Field("2+2=")}, {"response", Field("4")}})};
  std::vector<Record> samples = {sample("2+2=", "5", 0, false),
                                 sample("1+1=", "2", 1, true),
                                 sample("1+1=", "3", 0, false)};
  auto pairs = goldPairs(gold, samples);
  ASSERT_TRUE(bool(pairs)) << llvm::toString(pairs.takeError());
  ASSERT_EQ(pairs->size(), 2u); // the sample equal to gold is dropped
  EXPECT_EQ(str((*pairs)[0], "chosen"), "4");
  EXPECT_EQ(str((*pairs)[0], "rejected"), "5");
  EXPECT_EQ(str((*pairs)[1], "prompt"), "1+1=");
  EXPECT_EQ(str((*pairs)[1], "rejected"), "3");
  std::vector<Record> stray = {sample("9+9=", "18", 1, true)};
  auto missing = goldPairs(gold, stray);
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("'9+9='"),
            std::string::npos);
}

TEST(PairBuildersTest, WithFeedbackFillsPlaceholders) {
  std::vector<Record> judged = {sample("p", "s", 0.5, false, "too small")};
  auto texts = withFeedback(
      judged, "{prompt}{sample} -> {pass} ({feedback}; {score}) {{x}} {reference}");
  ASSERT_TRUE(bool(texts)) << llvm::toString(texts.takeError());
  ASSERT_EQ(texts->size(), 1u);
  EXPECT_EQ(str((*texts)[0], "text"), "ps -> fail (too small; 0.5) {x} ref-p");
  auto bad = withFeedback(judged, "{answer}");
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("unknown placeholder {answer}"),
            std::string::npos);
  auto open = withFeedback(judged, "{prompt");
  EXPECT_FALSE(bool(open));
  llvm::consumeError(open.takeError());
}

} // namespace
