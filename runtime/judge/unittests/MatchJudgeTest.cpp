//===- MatchJudgeTest.cpp - Matching, regex and function judges -----------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Expected results are worked out by hand from the rules documented in
// ftl/Judge/Judge.h and docs/judges.md.
//
//===----------------------------------------------------------------------===//

#include "JudgeTestUtil.h"

#include <cmath>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

std::vector<Verdict> run(Judge &judge, llvm::ArrayRef<JudgeItem> items,
                         JudgeStats &stats) {
  llvm::Expected<std::vector<Verdict>> verdicts = judge.judge(items, stats);
  EXPECT_EQ(errorOf(verdicts), "");
  if (!verdicts)
    return {};
  EXPECT_EQ(verdicts->size(), items.size());
  return std::move(*verdicts);
}

std::vector<bool> passes(llvm::ArrayRef<Verdict> verdicts) {
  std::vector<bool> result;
  for (const Verdict &verdict : verdicts) {
    EXPECT_EQ(verdict.score, verdict.pass ? 1.0 : 0.0);
    EXPECT_EQ(verdict.failure, "");
    result.push_back(verdict.pass);
  }
  return result;
}

TEST(MatchJudgeTest, ExactMatchComparesBytes) {
  auto judge = exactMatchJudge();
  std::vector<JudgeItem> items = {
      item("p", "42", "42"),
      item("p", "42 ", "42"),
      item("p", "Paris", "paris"),
      item("p", "", ""),
      item("p", std::string("a\0b", 3), std::string("a\0b", 3)),
      item("p", std::string("a\0b", 3), "a"),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(passes(verdicts),
            (std::vector<bool>{true, false, false, true, true, false}));
  EXPECT_EQ(verdicts[1].feedback, "the sample differs from the reference");
  EXPECT_EQ(verdicts[0].feedback, "");
  EXPECT_EQ(stats.items, 6);
  EXPECT_EQ(stats.passed, 3);
  EXPECT_EQ(stats.crashed + stats.timedOut + stats.garbage + stats.memory, 0);
}

TEST(MatchJudgeTest, StatsAccumulateOverCalls) {
  auto judge = exactMatchJudge();
  JudgeStats stats;
  std::vector<JudgeItem> first = {item("", "a", "a"), item("", "a", "b")};
  std::vector<JudgeItem> second = {item("", "c", "c")};
  run(*judge, first, stats);
  run(*judge, second, stats);
  EXPECT_EQ(stats.items, 3);
  EXPECT_EQ(stats.passed, 2);
  std::vector<JudgeItem> none;
  EXPECT_TRUE(run(*judge, none, stats).empty());
  EXPECT_EQ(stats.items, 3);
}

TEST(MatchJudgeTest, NormalizeAnswerRules) {
  // Case folding is ASCII only.
  EXPECT_EQ(normalizeAnswer("PaRiS"), "paris");
  EXPECT_EQ(normalizeAnswer("ÉCOLE"), "École");
  // Whitespace runs collapse, ends are trimmed.
  EXPECT_EQ(normalizeAnswer("  New \t\n York\r\n"), "new york");
  EXPECT_EQ(normalizeAnswer("a\v\fb"), "a b");
  // Trailing . , ; : ! ? go, with whitespace they expose, repeatedly.
  EXPECT_EQ(normalizeAnswer("42."), "42");
  EXPECT_EQ(normalizeAnswer("Yes! ?  . "), "yes");
  EXPECT_EQ(normalizeAnswer("3.14"), "3.14");
  EXPECT_EQ(normalizeAnswer("...ok..."), "...ok");
  // Other punctuation stays.
  EXPECT_EQ(normalizeAnswer("f(x)"), "f(x)");
  EXPECT_EQ(normalizeAnswer("\"quoted\"."), "\"quoted\"");
  EXPECT_EQ(normalizeAnswer("a - b"), "a - b");
  // Only punctuation or whitespace: nothing left.
  EXPECT_EQ(normalizeAnswer(" ?!. "), "");
  EXPECT_EQ(normalizeAnswer(""), "");
}

TEST(MatchJudgeTest, NormalizedMatch) {
  auto judge = normalizedMatchJudge();
  std::vector<JudgeItem> items = {
      item("", "  The  ANSWER is 42. ", "the answer is 42"),
      item("", "Paris!", "paris"),
      item("", "paris", "Paris, France"),
      item("", "x.y", "x y"),
      item("", "", " . "),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(passes(verdicts),
            (std::vector<bool>{true, true, false, false, true}));
  EXPECT_EQ(stats.passed, 3);
}

TEST(MatchJudgeTest, FirstNumberParsing) {
  auto is = [](llvm::StringRef text, double expected) {
    std::optional<double> value = firstNumber(text);
    EXPECT_TRUE(value.has_value()) << "'" << text.str() << "'";
    if (value) {
      EXPECT_EQ(*value, expected) << "'" << text.str() << "'";
    }
  };
  is("42", 42);
  is("The answer is 42.", 42);
  is("x = -3 or 4", -3);
  is("+7", 7);
  is("costs $1,234,567.50 total", 1234567.5);
  is("1,2345", 1);     // not a group of three: the number ends at the comma
  is("12,34,567", 12); // likewise
  is("1,234,56", 1234);
  is("3.", 3);
  is(".5 of it", 0.5);
  is("-.25", -0.25);
  is("2e3 apples", 2000);
  is("6.02E+23", 6.02e23);
  is("1e-2", 0.01);
  is("2e", 2); // no exponent digits: the 'e' is not part of it
  is("2e+x", 2);
  is("a-1", -1); // a sign directly before digits belongs to the number
  is("--5", -5);
  is("- 5", 5);
  is("v1.2.3", 1.2);
  is("0x1F", 0); // no hexadecimal
  is("007", 7);
  EXPECT_FALSE(firstNumber("no digits here").has_value());
  EXPECT_FALSE(firstNumber("").has_value());
  EXPECT_FALSE(firstNumber("inf nan . - +").has_value());
  EXPECT_FALSE(firstNumber("1e999").has_value()); // outside a double
}

TEST(MatchJudgeTest, NumericMatch) {
  auto judge = numericMatchJudge(0.01);
  std::vector<JudgeItem> items = {
      item("", "The answer is 3.14159", "#### 3.14"),
      item("", "about 3.16", "3.14"),
      item("", "1,000 apples", "1000"),
      item("", "-2", "2"),
      item("", "no number", "5"),
      item("", "5", "unknown"),
      item("", "3.15", "3.14"),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(passes(verdicts),
            (std::vector<bool>{true, false, true, false, false, false, true}));
  EXPECT_EQ(verdicts[1].feedback,
            "the sample's number 3.16 is not within 0.01 of the reference's");
  EXPECT_EQ(verdicts[4].feedback, "the sample has no number");
  EXPECT_EQ(verdicts[5].feedback, "the reference 'unknown' has no number");
  EXPECT_EQ(stats.passed, 3);
}

TEST(MatchJudgeTest, NumericToleranceEdges) {
  std::vector<JudgeItem> items = {item("", "2", "2"), item("", "2.5", "2")};
  JudgeStats stats;
  // Negative and NaN tolerances count as 0: only equal numbers pass.
  for (double tolerance : {-1.0, std::nan("")}) {
    auto judge = numericMatchJudge(tolerance);
    EXPECT_EQ(passes(run(*judge, items, stats)),
              (std::vector<bool>{true, false}));
  }
  // The bound is inclusive.
  auto judge = numericMatchJudge(0.5);
  EXPECT_EQ(passes(run(*judge, items, stats)), (std::vector<bool>{true, true}));
}

TEST(MatchJudgeTest, RegexMatchesAnywhere) {
  llvm::Expected<std::unique_ptr<Judge>> judge =
      regexJudge("answer: (yes|no)\\b");
  ASSERT_EQ(errorOf(judge), "");
  std::vector<JudgeItem> items = {
      item("", "final answer: yes", ""),
      item("", "answer: maybe", ""),
      item("", "ANSWER: no", ""),
      item("", "answer: nothing", ""),
  };
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(**judge, items, stats);
  EXPECT_EQ(passes(verdicts), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(verdicts[1].feedback,
            "the sample does not match /answer: (yes|no)\\b/");

  llvm::Expected<std::unique_ptr<Judge>> anchored = regexJudge("^\\d+$");
  ASSERT_EQ(errorOf(anchored), "");
  std::vector<JudgeItem> numbers = {item("", "123", ""), item("", "12a", "")};
  EXPECT_EQ(passes(run(**anchored, numbers, stats)),
            (std::vector<bool>{true, false}));
}

TEST(MatchJudgeTest, RegexBadPatternIsAnError) {
  llvm::Expected<std::unique_ptr<Judge>> judge = regexJudge("(unclosed");
  std::string message = errorOf(judge);
  ASSERT_NE(message, "");
  EXPECT_NE(message.find("invalid regular expression '(unclosed'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("missing )"), std::string::npos) << message;
  // RE2 has no backreferences.
  llvm::Expected<std::unique_ptr<Judge>> backreference = regexJudge("(a)\\1");
  EXPECT_NE(errorOf(backreference), "");
}

TEST(MatchJudgeTest, FunctionJudgeKeepsOrderAndFailures) {
  int calls = 0;
  auto judge = functionJudge([&](const JudgeItem &item) {
    ++calls;
    Verdict verdict;
    if (item.sample == "bad") {
      verdict.failure = "crash";
      verdict.feedback = "host judge failed";
      return verdict;
    }
    verdict.score = static_cast<double>(item.sample.size());
    verdict.pass = item.sample.size() > 2;
    verdict.feedback = "len";
    return verdict;
  });
  std::vector<JudgeItem> items = {item("", "abcd", ""), item("", "bad", ""),
                                  item("", "ab", "")};
  JudgeStats stats;
  std::vector<Verdict> verdicts = run(*judge, items, stats);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(verdicts[0].score, 4);
  EXPECT_TRUE(verdicts[0].pass);
  EXPECT_EQ(verdicts[1].failure, "crash");
  EXPECT_EQ(verdicts[2].score, 2);
  EXPECT_FALSE(verdicts[2].pass);
  EXPECT_EQ(stats.items, 3);
  EXPECT_EQ(stats.passed, 1);
  EXPECT_EQ(stats.crashed, 1);
}

TEST(MatchJudgeTest, AccumulateStatsCountsEachKind) {
  std::vector<Verdict> verdicts(7);
  verdicts[0].pass = true;
  verdicts[1].failure = "crash";
  verdicts[2].failure = "timeout";
  verdicts[3].failure = "garbage";
  verdicts[4].failure = "memory";
  verdicts[5].failure = "something else";
  verdicts[5].pass = true; // a failed item never counts as passed
  JudgeStats stats;
  accumulateStats(verdicts, stats);
  EXPECT_EQ(stats.items, 7);
  EXPECT_EQ(stats.passed, 1);
  EXPECT_EQ(stats.crashed, 1);
  EXPECT_EQ(stats.timedOut, 1);
  EXPECT_EQ(stats.garbage, 1);
  EXPECT_EQ(stats.memory, 1);
}

} // namespace
