//===- SemaTest.cpp - Tests for the checker's limits ----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// The checker's behaviour is tested by the lit suite (test/Lang/Sema); these
// tests cover what lit cannot express well: time and depth on generated
// programs.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "ftl/Lang/Sema.h"

#include "gtest/gtest.h"

#include <chrono>

using namespace ftl::lang;
using ftl::lang::test::Source;

namespace {

struct Checked : Source {
  explicit Checked(llvm::StringRef text) : Source(text) {
    SemaOptions options;
    options.checkFiles = false;
    options.warnUnused = false;
    auto start = std::chrono::steady_clock::now();
    ok = llvm::succeeded(
        checkProgram(bufferId, context, types, diags, options, program));
    seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
  TypeContext types;
  Program program;
  bool ok = false;
  double seconds = 0;
};

/// `levels` recipes; each calls the next `calls` times.
std::string recipeTree(unsigned levels, unsigned calls,
                       llvm::StringRef leafBody = "log x") {
  std::string text;
  for (unsigned i = 0; i < levels; ++i) {
    text += "def f" + std::to_string(i) + "(x: int) {\n";
    for (unsigned c = 0; c < calls; ++c)
      text += "  f" + std::to_string(i + 1) + "(x)\n";
    text += "}\n";
  }
  text += "def f" + std::to_string(levels) + "(x: int) {\n  " + leafBody.str() +
          "\n}\nf0(1)\n";
  return text;
}

TEST(SemaTest, RecipesCallingRecipesDoNotTakeExponentialTime) {
  // 2^30 expansions if every call re-checked its callee's body.
  Checked checked(recipeTree(30, 2));
  EXPECT_TRUE(checked.ok) << (checked.reported.empty()
                                  ? ""
                                  : checked.reported[0].message);
  EXPECT_LT(checked.seconds, 5.0);
  // Every call is still resolved to its function.
  EXPECT_EQ(checked.program.info.userCalls.size(), 61u);
}

TEST(SemaTest, AnErrorInASharedRecipeIsReportedOnce) {
  Checked checked(recipeTree(10, 3, "log x + missing"));
  EXPECT_FALSE(checked.ok);
  EXPECT_EQ(checked.names(), std::vector<std::string>{"unknown-name"});
}

TEST(SemaTest, ArgumentTypesStillReachTheBody) {
  // The same recipe called with different data is checked for each: the
  // second call's data lacks the field.
  Checked checked(R"(
def pick(d: data) {
  data e = d |> filter(.answer == "x")
  log e
}
data good = text("a.txt") |> map(answer: .text)
data bad = text("b.txt")
pick(good)
pick(bad)
)");
  EXPECT_EQ(checked.names(), std::vector<std::string>{"missing-field"});
}

TEST(SemaTest, DeepRecipeChainsAreAnErrorNotACrash) {
  Checked checked(recipeTree(200, 1));
  EXPECT_FALSE(checked.ok);
  ASSERT_FALSE(checked.reported.empty());
  EXPECT_EQ(checked.reported[0].getName(), "nesting-too-deep");
  EXPECT_NE(checked.reported[0].message.find("function calls"),
            std::string::npos);
  // Chains within the limit are fine.
  Checked shallow(recipeTree(maxNestingDepth / 16, 1));
  EXPECT_TRUE(shallow.ok);
}

TEST(SemaTest, DeepExpressionsInDeepRecipesAreAnErrorNotACrash) {
  std::string text;
  for (int i = 0; i < 30; ++i) {
    std::string inner = i + 1 < 30 ? "f" + std::to_string(i + 1) + "(x)" : "x";
    text += "def f" + std::to_string(i) + "(x: int) {\n  log " +
            std::string(250, '[') + inner + std::string(250, ']') + "\n}\n";
  }
  text += "f0(1)\n";
  Checked checked(text);
  EXPECT_FALSE(checked.ok);
  ASSERT_FALSE(checked.reported.empty());
  EXPECT_EQ(checked.reported[0].getName(), "nesting-too-deep");
}

TEST(SemaTest, DeepButLegalProgramsCheck) {
  // The deepest expression the parser accepts, inside nested loops.
  std::string text = "let x = " + std::string(maxNestingDepth - 1, '-') + "1\n";
  for (int i = 0; i < 50; ++i)
    text += "loop r" + std::to_string(i) + " in 1..2 {\n";
  text += "log x + " + std::string(200, '(') + "1" + std::string(200, ')') +
          "\n" + std::string(50, '}') + "\n";
  Checked checked(text);
  EXPECT_TRUE(checked.ok) << (checked.reported.empty()
                                  ? ""
                                  : checked.reported[0].message);
}

} // namespace
