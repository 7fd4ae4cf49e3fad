//===- CommandLineTest.cpp - splitCommandLine
//------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Judge/Judge.h"

#include "gtest/gtest.h"

using namespace ftl::rt;

namespace {

using Words = std::vector<std::string>;

Words split(llvm::StringRef command) {
  llvm::Expected<Words> words = splitCommandLine(command);
  if (!words) {
    ADD_FAILURE() << command.str() << ": " << llvm::toString(words.takeError());
    return Words{"<error>"};
  }
  return *words;
}

std::string splitError(llvm::StringRef command) {
  llvm::Expected<Words> words = splitCommandLine(command);
  EXPECT_FALSE(words) << command.str();
  return words ? "" : llvm::toString(words.takeError());
}

TEST(CommandLineTest, PlainWords) {
  EXPECT_EQ(split("python3 check.py --x"),
            (Words{"python3", "check.py", "--x"}));
  EXPECT_EQ(split("  a \t b\n\nc\r\v\f "), (Words{"a", "b", "c"}));
  EXPECT_EQ(split(""), Words{});
  EXPECT_EQ(split(" \t "), Words{});
}

TEST(CommandLineTest, SingleQuotesAreLiteral) {
  EXPECT_EQ(split("echo 'a b'"), (Words{"echo", "a b"}));
  EXPECT_EQ(split(R"('a\b' '"x"')"), (Words{R"(a\b)", R"("x")"}));
  EXPECT_EQ(split("''"), Words{""});
  EXPECT_EQ(split("a '' b"), (Words{"a", "", "b"}));
}

TEST(CommandLineTest, DoubleQuotesAndEscapes) {
  EXPECT_EQ(split(R"("a b" "say \"hi\"" "back\\slash")"),
            (Words{"a b", R"(say "hi")", R"(back\slash)"}));
  // Other backslashes inside double quotes stay.
  EXPECT_EQ(split(R"("C:\path\n")"), Words{R"(C:\path\n)"});
  EXPECT_EQ(split(R"("")"), Words{""});
  EXPECT_EQ(split(R"("it's")"), Words{"it's"});
}

TEST(CommandLineTest, BackslashOutsideQuotes) {
  EXPECT_EQ(split(R"(a\ b c\"d \'e\\)"), (Words{"a b", R"(c"d)", R"('e\)"}));
  EXPECT_EQ(split("x\\\ny"), Words{"x\ny"});
}

TEST(CommandLineTest, PartsJoin) {
  EXPECT_EQ(split(R"(--name="a b"'c d'e)"), Words{"--name=a bc de"});
  EXPECT_EQ(split(R"(a"")"), Words{"a"});
}

TEST(CommandLineTest, ShellSyntaxIsOrdinaryText) {
  EXPECT_EQ(split("run $(touch x) `id` ; rm -rf / | cat > out & ~ *.py $HOME"),
            (Words{"run", "$(touch", "x)", "`id`", ";", "rm", "-rf", "/", "|",
                   "cat", ">", "out", "&", "~", "*.py", "$HOME"}));
  EXPECT_EQ(split("python3 check.py '$(touch /tmp/x)'"),
            (Words{"python3", "check.py", "$(touch /tmp/x)"}));
}

TEST(CommandLineTest, Errors) {
  std::string message = splitError("python3 'check.py");
  EXPECT_EQ(message, "unterminated single quote at column 9 in command line "
                     "'python3 'check.py'; expected a closing '");
  message = splitError(R"(a "b \" c)");
  EXPECT_EQ(message, "unterminated double quote at column 3 in command line "
                     "'a \"b \\\" c'; expected a closing \"");
  message = splitError("abc\\");
  EXPECT_EQ(message, "command line 'abc\\' ends with a backslash; expected a "
                     "character after it (write \\\\ for a backslash)");
}

} // namespace
