//===- HostJudgesTest.cpp - Judges registered by the host program ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Embed/HostJudges.h"
#include "ftl/ftl.h"

#include "gtest/gtest.h"

#include <cmath>
#include <thread>

using namespace ftl;

namespace {

/// Starts each test with an empty registry (it is process-wide).
class HostJudgesTest : public ::testing::Test {
protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const std::string &name : registeredJudges())
      unregisterJudge(name);
  }
};

/// Passes a sample that equals the reference once trimmed; the score is the
/// fraction of the reference's characters the sample has at the same place.
JudgeOutput prefixJudge(const JudgeInput &in) {
  JudgeOutput out;
  size_t same = 0;
  while (same < in.sample.size() && same < in.reference.size() &&
         in.sample[same] == in.reference[same])
    ++same;
  out.score = in.reference.empty() ? 0 : double(same) / in.reference.size();
  out.pass = in.sample == in.reference;
  out.feedback = in.prompt + ": " + std::to_string(same) + " matching";
  return out;
}

std::vector<rt::Verdict> judgeWith(const std::string &name,
                                   const std::vector<rt::JudgeItem> &items,
                                   rt::JudgeStats &stats) {
  auto judge = rt::findHostJudge(name);
  EXPECT_TRUE(bool(judge)) << llvm::toString(judge.takeError());
  if (!judge)
    return {};
  auto verdicts = (*judge)->judge(items, stats);
  EXPECT_TRUE(bool(verdicts));
  return verdicts ? *verdicts : std::vector<rt::Verdict>{};
}

TEST_F(HostJudgesTest, RuntimeCallsTheRegisteredFunction) {
  ASSERT_TRUE(registerJudge("prefix", prefixJudge).ok());
  EXPECT_EQ(registeredJudges(), std::vector<std::string>{"prefix"});
  rt::JudgeStats stats;
  std::vector<rt::Verdict> verdicts = judgeWith(
      "prefix",
      {{"p1", "abcd", "abcd"}, {"p2", "abxx", "abcd"}, {"p3", "", "ab"}},
      stats);
  ASSERT_EQ(verdicts.size(), 3u);
  EXPECT_EQ(verdicts[0].score, 1.0);
  EXPECT_TRUE(verdicts[0].pass);
  EXPECT_EQ(verdicts[0].feedback, "p1: 4 matching");
  EXPECT_EQ(verdicts[1].score, 0.5);
  EXPECT_FALSE(verdicts[1].pass);
  EXPECT_EQ(verdicts[1].feedback, "p2: 2 matching");
  EXPECT_EQ(verdicts[2].score, 0.0);
  EXPECT_EQ(verdicts[2].failure, "");
  EXPECT_EQ(stats.items, 3);
  EXPECT_EQ(stats.passed, 1);
}

TEST_F(HostJudgesTest, ReregisteringReplacesAndLookupsKeepTheirCopy) {
  ASSERT_TRUE(registerJudge("j", [](const JudgeInput &) {
                JudgeOutput o;
                o.score = 1;
                return o;
              }).ok());
  auto early = rt::findHostJudge("j");
  ASSERT_TRUE(bool(early));
  ASSERT_TRUE(registerJudge("j", [](const JudgeInput &) {
                JudgeOutput o;
                o.score = 2;
                return o;
              }).ok());
  EXPECT_TRUE(unregisterJudge("j"));
  EXPECT_FALSE(unregisterJudge("j"));
  rt::JudgeStats stats;
  auto verdicts = (*early)->judge({{"", "", ""}}, stats);
  ASSERT_TRUE(bool(verdicts));
  EXPECT_EQ((*verdicts)[0].score, 1.0);
  EXPECT_TRUE(registeredJudges().empty());
}

TEST_F(HostJudgesTest, UnknownNamesSayWhatIsRegistered) {
  auto none = rt::findHostJudge("tests");
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(llvm::toString(none.takeError()),
            "no host judge named 'tests'; the host program registered none "
            "(ftl::registerJudge)");
  ASSERT_TRUE(registerJudge("unit-tests", prefixJudge).ok());
  ASSERT_TRUE(registerJudge("style", prefixJudge).ok());
  EXPECT_EQ(registeredJudges(),
            (std::vector<std::string>{"style", "unit-tests"}));
  auto missing = rt::findHostJudge("tests");
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(llvm::toString(missing.takeError()),
            "no host judge named 'tests'; expected one of 'style', "
            "'unit-tests'");
}

TEST_F(HostJudgesTest, EmptyNameOrFunctionIsAnError) {
  Status noName = registerJudge("", prefixJudge);
  ASSERT_FALSE(noName.ok());
  EXPECT_EQ(noName.diagnostics()[0].kind, "invalid-argument");
  EXPECT_EQ(noName.diagnostics()[0].message,
            "a host judge needs a name; expected a non-empty string such as "
            "\"unit-tests\", found \"\"");
  Status noFunction = registerJudge("x", JudgeFunction());
  ASSERT_FALSE(noFunction.ok());
  EXPECT_EQ(noFunction.diagnostics()[0].message,
            "ftl::registerJudge('x') needs a function; expected a callable, "
            "found an empty function");
  EXPECT_TRUE(registeredJudges().empty());
  // The internal entry point refuses them too.
  llvm::Error e = rt::registerHostJudge("y", rt::JudgeFn());
  EXPECT_EQ(llvm::toString(std::move(e)),
            "host judge 'y' has no function; expected a callable, found an "
            "empty function");
}

TEST_F(HostJudgesTest, ScoresThatAreNotNumbersFailTheItem) {
  ASSERT_TRUE(registerJudge("nan", [](const JudgeInput &) {
                JudgeOutput o;
                o.score = std::nan("");
                o.pass = true;
                return o;
              }).ok());
  rt::JudgeStats stats;
  std::vector<rt::Verdict> verdicts = judgeWith("nan", {{"", "", ""}}, stats);
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].failure, "garbage");
  EXPECT_FALSE(verdicts[0].pass);
  EXPECT_EQ(verdicts[0].score, 0.0);
  EXPECT_EQ(verdicts[0].feedback,
            "host judge 'nan' returned the score nan; expected a finite "
            "number");
  EXPECT_EQ(stats.garbage, 1);
  EXPECT_EQ(stats.passed, 0);
}

TEST_F(HostJudgesTest, ConcurrentRegistrationAndLookup) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i) {
        std::string name = "j" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(registerJudge(name, prefixJudge).ok());
        auto judge = rt::findHostJudge(name);
        EXPECT_TRUE(bool(judge));
        if (!judge)
          llvm::consumeError(judge.takeError());
      }
    });
  for (std::thread &t : threads)
    t.join();
  EXPECT_EQ(registeredJudges().size(), 200u);
}

} // namespace
