//===- LexerTest.cpp - Tests for the .ftl lexer ---------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "ftl/Lang/Lexer.h"

#include "gtest/gtest.h"

using namespace ftl::lang;
using ftl::lang::test::sexpr;
using ftl::lang::test::Source;

namespace {

/// Lexes `text` and keeps the tokens (without the final eof).
struct Lexed : Source {
  explicit Lexed(llvm::StringRef text) : Source(text) {
    tokens = Lexer::lexAll(this->text(), diags, &comments);
    EXPECT_TRUE(!tokens.empty() && tokens.back().is(TokenKind::eof));
    tokens.pop_back();
  }
  std::vector<TokenKind> kinds() const {
    std::vector<TokenKind> out;
    for (const Token &t : tokens)
      out.push_back(t.getKind());
    return out;
  }
  std::vector<std::string> spellings() const {
    std::vector<std::string> out;
    for (const Token &t : tokens)
      out.push_back(t.getSpelling().str());
    return out;
  }
  std::vector<Token> tokens;
};

using K = TokenKind;

TEST(LexerTest, Punctuation) {
  // Written out by hand from the grammar in docs/language.md.
  const std::pair<const char *, TokenKind> cases[] = {
      {"(", K::l_paren},      {")", K::r_paren},     {"[", K::l_square},
      {"]", K::r_square},     {"{", K::l_brace},     {"}", K::r_brace},
      {",", K::comma},        {":", K::colon},       {".", K::dot},
      {"..", K::dotdot},      {"=", K::equal},       {"+=", K::plus_equal},
      {"==", K::equal_equal}, {"!=", K::bang_equal}, {"<", K::less},
      {"<=", K::less_equal},  {">", K::greater},     {">=", K::greater_equal},
      {"=~", K::match},       {"!~", K::not_match},  {"+", K::plus},
      {"-", K::minus},        {"*", K::star},        {"|>", K::pipe},
      {"&&", K::amp_amp},     {"||", K::pipe_pipe},  {"!", K::bang},
      {"->", K::arrow},
  };
  for (auto [spelling, kind] : cases) {
    // After an identifier so that '/' would be division; each alone too.
    Lexed alone(spelling);
    ASSERT_EQ(alone.tokens.size(), 1u) << spelling;
    EXPECT_EQ(alone.tokens[0].getKind(), kind) << spelling;
    EXPECT_EQ(alone.tokens[0].getSpelling(), spelling);
    EXPECT_TRUE(alone.reported.empty()) << spelling;
  }
  Lexed division("a / b");
  EXPECT_EQ(division.kinds(),
            (std::vector<TokenKind>{K::identifier, K::slash, K::identifier}));
}

TEST(LexerTest, EveryKindInTheRegistryLexesFromItsSpelling) {
  // Guards against a kind added to TokenKinds.def without lexer support.
#define TOK_PUNCT(NAME, SPELLING)                                              \
  {                                                                            \
    Lexed lexed("x " SPELLING);                                                \
    ASSERT_EQ(lexed.tokens.size(), 2u) << SPELLING;                            \
    EXPECT_EQ(lexed.tokens[1].getKind(), TokenKind::NAME) << SPELLING;         \
  }
#define TOK_KEYWORD(SPELLING)                                                  \
  {                                                                            \
    Lexed lexed(#SPELLING);                                                    \
    ASSERT_EQ(lexed.tokens.size(), 1u) << #SPELLING;                           \
    EXPECT_EQ(lexed.tokens[0].getKind(), TokenKind::kw_##SPELLING);            \
    EXPECT_TRUE(lexed.tokens[0].isKeyword());                                  \
  }
#include "ftl/Lang/TokenKinds.def"
}

TEST(LexerTest, KeywordsAndIdentifiers) {
  Lexed lexed("seed model tokenizer data adapter on freeze except objective "
              "train with eval loop in until let log save to def import true "
              "false");
  EXPECT_EQ(lexed.tokens.size(), 23u);
  for (const Token &t : lexed.tokens)
    EXPECT_TRUE(t.isKeyword()) << t.getSpelling().str();

  Lexed ids("_x x1 seeds Model a_b_c __ layers");
  for (const Token &t : ids.tokens) {
    EXPECT_EQ(t.getKind(), K::identifier) << t.getSpelling().str();
    EXPECT_FALSE(t.isKeyword());
  }
  EXPECT_EQ(ids.spellings(),
            (std::vector<std::string>{"_x", "x1", "seeds", "Model", "a_b_c",
                                      "__", "layers"}));
}

TEST(LexerTest, Literals) {
  Lexed lexed("42 1_000 0.5 3e-4 1E+5 15% 0.5% 200ms 5s 10m 2h \"s\" =~ /r/i");
  EXPECT_EQ(lexed.kinds(),
            (std::vector<TokenKind>{
                K::integer, K::integer, K::floating, K::floating, K::floating,
                K::percent, K::percent, K::duration, K::duration, K::duration,
                K::duration, K::string, K::match, K::regex}));
  EXPECT_TRUE(lexed.reported.empty());
}

TEST(LexerTest, RangeIsNotAFraction) {
  Lexed lexed("1..3 2.. ..4 1.e5");
  EXPECT_EQ(lexed.kinds(),
            (std::vector<TokenKind>{
                K::integer, K::dotdot, K::integer, K::integer, K::dotdot,
                K::dotdot, K::integer, K::integer, K::dot, K::identifier}));
}

TEST(LexerTest, SlashIsDivisionAfterAnOperand) {
  // After each of these, '/' divides.
  for (const char *before : {"a", "1", "1.5", "15%", "5s", "\"s\"", "/r/", ")",
                             "]", "}", "true", "false"}) {
    std::string text = std::string(before) + " / 2";
    Lexed lexed(text);
    ASSERT_GE(lexed.tokens.size(), 3u) << text;
    EXPECT_EQ(lexed.tokens[lexed.tokens.size() - 2].getKind(), K::slash)
        << text;
    EXPECT_EQ(lexed.tokens.back().getKind(), K::integer) << text;
  }
}

TEST(LexerTest, SlashDividesAfterAKeywordUsedAsAName) {
  // `d.eval` and `.data` are names: the '/' after them divides.
  for (const char *text : {"d.eval / 2", ".data / 2", "x.log / y.in / 2"}) {
    Lexed lexed(text);
    EXPECT_TRUE(lexed.reported.empty()) << text;
    EXPECT_EQ(lexed.tokens.back().getKind(), K::integer) << text;
    EXPECT_EQ(lexed.tokens[lexed.tokens.size() - 2].getKind(), K::slash)
        << text;
  }
  // A keyword elsewhere still allows a regex after it.
  Lexed log("log /x/");
  EXPECT_EQ(log.tokens.back().getKind(), K::regex);
}

TEST(LexerTest, SlashStartsARegexWhereAnOperandIsExpected) {
  // After each of these (and at the start), '/' starts a regex.
  for (const char *before :
       {"",  "(", "[", "{", ",",  ":", "=",  "=~",   "!~",  "&&", "||",
        "!", "+", "-", "*", "|>", "<", "==", "seed", "log", "in"}) {
    std::string text = std::string(before) + " /a b/";
    Lexed lexed(text);
    ASSERT_FALSE(lexed.tokens.empty()) << text;
    EXPECT_EQ(lexed.tokens.back().getKind(), K::regex) << text;
    EXPECT_EQ(lexed.tokens.back().getSpelling(), "/a b/") << text;
  }
}

TEST(LexerTest, RegexBodies) {
  // An escaped slash and a slash inside a class do not end the regex.
  Lexed lexed(R"(=~ /^a\/b[/x]+$/ims =~ /[^]]/)");
  ASSERT_EQ(lexed.tokens.size(), 4u);
  EXPECT_EQ(lexed.tokens[1].getSpelling(), R"(/^a\/b[/x]+$/ims)");
  EXPECT_EQ(lexed.tokens[3].getKind(), K::regex);

  Source source("let r = /a\\/b/s");
  Module module = source.parse();
  ASSERT_EQ(module.stmts.size(), 1u);
  const auto *binding = llvm::cast<BindingStmt>(module.stmts[0]);
  const auto *regex = llvm::cast<RegexExpr>(binding->getValue());
  EXPECT_EQ(regex->getPattern(), "a\\/b");
  EXPECT_EQ(regex->getFlags(), "s");
}

TEST(LexerTest, UnterminatedRegex) {
  Lexed lexed("filter(.a =~ /[0-9\nx");
  EXPECT_EQ(lexed.names(), std::vector<std::string>{"unterminated-regex"});
  // The error token covers the regex up to the end of its line.
  bool sawError = false;
  for (const Token &t : lexed.tokens)
    if (t.is(K::error)) {
      sawError = true;
      EXPECT_EQ(t.getSpelling(), "/[0-9");
    }
  EXPECT_TRUE(sawError);
  // Lexing resumes on the next line.
  EXPECT_EQ(lexed.tokens.back().getSpelling(), "x");
  EXPECT_TRUE(lexed.tokens.back().startsLine());
}

/// Parses `let x = <text>` and returns the value's S-expression.
static std::string valueOf(llvm::StringRef text,
                           std::vector<std::string> *diags = nullptr) {
  Source source(("let x = " + text).str());
  Module module = source.parse();
  if (diags)
    *diags = source.names();
  if (module.stmts.size() != 1)
    return "<no statement>";
  return sexpr(llvm::cast<BindingStmt>(module.stmts[0])->getValue());
}

TEST(LexerTest, NumberValues) {
  EXPECT_EQ(valueOf("42"), "42");
  EXPECT_EQ(valueOf("1_000_000"), "1000000");
  EXPECT_EQ(valueOf("0"), "0");
  EXPECT_EQ(valueOf("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(valueOf("0.5"), "f0.5");
  EXPECT_EQ(valueOf("3e-4"), "f0.0003");
  EXPECT_EQ(valueOf("1E3"), "f1000");
  EXPECT_EQ(valueOf("2.5e+2"), "f250");
  EXPECT_EQ(valueOf("1_000.25"), "f1000.25");
}

TEST(LexerTest, PercentValues) {
  EXPECT_EQ(valueOf("15%"), "pct0.15");
  EXPECT_EQ(valueOf("100%"), "pct1");
  EXPECT_EQ(valueOf("0.5%"), "pct0.005");
  EXPECT_EQ(valueOf("2e1%"), "pct0.2");
}

TEST(LexerTest, DurationValuesAreSeconds) {
  EXPECT_EQ(valueOf("200ms"), "sec0.2");
  EXPECT_EQ(valueOf("5s"), "sec5");
  EXPECT_EQ(valueOf("10m"), "sec600");
  EXPECT_EQ(valueOf("2h"), "sec7200");
  EXPECT_EQ(valueOf("1.5h"), "sec5400");
  EXPECT_EQ(valueOf("1_500ms"), "sec1.5");
}

TEST(LexerTest, BadNumbers) {
  std::vector<std::string> diags;
  valueOf("1__000", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-number"});
  valueOf("1_", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-number"});
  // Too big for a 64-bit integer, or for a double.
  valueOf("9223372036854775808", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-number"});
  valueOf("1e400", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-number"});
  valueOf("5sec", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-duration-unit"});
  valueOf("3x", &diags);
  EXPECT_EQ(diags, std::vector<std::string>{"invalid-duration-unit"});
}

TEST(LexerTest, InvalidDurationUnitMessage) {
  Lexed lexed("5sec");
  ASSERT_EQ(lexed.reported.size(), 1u);
  EXPECT_EQ(lexed.reported[0].message,
            "invalid duration unit 'sec'; expected ms, s, m or h");
  EXPECT_EQ(Source::textOf(lexed.reported[0].range), "sec");
}

TEST(LexerTest, StringEscapes) {
  EXPECT_EQ(decodeStringLiteral(R"("a\nb")"), "a\nb");
  EXPECT_EQ(decodeStringLiteral(R"("\r\t\\\"")"), "\r\t\\\"");
  EXPECT_EQ(decodeStringLiteral(R"("x\0y")"), std::string("x\0y", 3));
  // UTF-8 encodings of U+0041, U+00E9, U+20AC and U+1F600.
  EXPECT_EQ(decodeStringLiteral(R"("\u{41}")"), "A");
  EXPECT_EQ(decodeStringLiteral(R"("\u{e9}")"), "\xC3\xA9");
  EXPECT_EQ(decodeStringLiteral(R"("\u{20AC}")"), "\xE2\x82\xAC");
  EXPECT_EQ(decodeStringLiteral(R"("\u{1F600}")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(decodeStringLiteral(R"("\u{10FFFF}")"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(decodeStringLiteral(R"("plain")"), "plain");
  EXPECT_EQ(decodeStringLiteral(R"("")"), "");

  // Through the parser: the AST holds the decoded value.
  EXPECT_EQ(valueOf(R"("caf\u{e9}\n")"), "\"caf\xC3\xA9\n\"");
}

TEST(LexerTest, BadEscapes) {
  for (const char *text :
       {R"("\q")", R"("\u")", R"("\u{}")", R"("\u{1234567}")", R"("\u{12")",
        R"("\u{g}")", R"("\u{110000}")", R"("\u{D800}")", R"("\u{DFFF}")"}) {
    Lexed lexed(text);
    EXPECT_EQ(lexed.names(), std::vector<std::string>{"invalid-escape"})
        << text;
    // The bad string is not passed on as a value.
    ASSERT_FALSE(lexed.tokens.empty()) << text;
    EXPECT_EQ(lexed.tokens[0].getKind(), K::error) << text;
  }
  Lexed bad(R"("a\qb")");
  ASSERT_EQ(bad.reported.size(), 1u);
  EXPECT_EQ(bad.reported[0].message,
            "invalid escape sequence '\\q' in string literal");
  EXPECT_EQ(Source::textOf(bad.reported[0].range), "\\q");
}

TEST(LexerTest, UnterminatedStrings) {
  for (const char *text : {"\"abc", "\"abc\nlet", "\"abc\\", "\"a\\\nb\""}) {
    Lexed lexed(text);
    ASSERT_FALSE(lexed.reported.empty()) << text;
    EXPECT_EQ(lexed.reported.front().getName(), "unterminated-string") << text;
  }
  // A string does not run past the end of its line.
  Lexed lexed("\"abc\nlog x");
  EXPECT_EQ(lexed.kinds(),
            (std::vector<TokenKind>{K::error, K::kw_log, K::identifier}));
}

TEST(LexerTest, CommentsAreKeptAside) {
  Lexed lexed("seed 1 // first\n// second\n  //third\nlog x//tail");
  EXPECT_EQ(lexed.kinds(), (std::vector<TokenKind>{K::kw_seed, K::integer,
                                                   K::kw_log, K::identifier}));
  ASSERT_EQ(lexed.comments.size(), 4u);
  EXPECT_EQ(lexed.comments[0].getSpelling(), "// first");
  EXPECT_EQ(lexed.comments[1].getSpelling(), "// second");
  EXPECT_EQ(lexed.comments[2].getSpelling(), "//third");
  EXPECT_EQ(lexed.comments[3].getSpelling(), "//tail");
  for (const Token &c : lexed.comments)
    EXPECT_TRUE(c.is(K::comment));
  EXPECT_FALSE(lexed.comments[0].startsLine());
  EXPECT_TRUE(lexed.comments[1].startsLine());
  EXPECT_TRUE(lexed.comments[2].startsLine());
  EXPECT_FALSE(lexed.comments[3].startsLine());
  // A comment is not a division or a regex.
  Lexed slashes("a // b / c");
  EXPECT_EQ(slashes.kinds(), std::vector<TokenKind>{K::identifier});
}

TEST(LexerTest, LineStartFlags) {
  Lexed lexed("a b\n c\r\n\n  d // x\n e");
  ASSERT_EQ(lexed.tokens.size(), 5u);
  EXPECT_TRUE(lexed.tokens[0].startsLine()); // the first token
  EXPECT_FALSE(lexed.tokens[1].startsLine());
  EXPECT_TRUE(lexed.tokens[2].startsLine());
  EXPECT_TRUE(lexed.tokens[3].startsLine());
  EXPECT_TRUE(lexed.tokens[4].startsLine());

  Lexed oneLine("  model m = f(x)");
  for (size_t i = 1; i < oneLine.tokens.size(); ++i)
    EXPECT_FALSE(oneLine.tokens[i].startsLine());
}

TEST(LexerTest, TokenLocations) {
  Lexed lexed("seed 42\n  log abc");
  ASSERT_EQ(lexed.tokens.size(), 4u);
  EXPECT_EQ(lexed.lineCol(lexed.tokens[1].getLoc()), std::make_pair(1u, 6u));
  EXPECT_EQ(lexed.lineCol(lexed.tokens[3].getLoc()), std::make_pair(2u, 7u));
  EXPECT_EQ(lexed.lineCol(lexed.tokens[3].getEndLoc()),
            std::make_pair(2u, 10u));
}

TEST(LexerTest, EofRepeats) {
  Source source("x");
  Lexer lexer(source.text(), source.diags);
  EXPECT_TRUE(lexer.lex().is(K::identifier));
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(lexer.lex().is(K::eof));
  Lexed empty("");
  EXPECT_TRUE(empty.tokens.empty());
  Lexed blank("  \n\t\r\n // only a comment");
  EXPECT_TRUE(blank.tokens.empty());
  EXPECT_EQ(blank.comments.size(), 1u);
}

TEST(LexerTest, InvalidCharacters) {
  Lexed dollar("seed $ 1");
  EXPECT_EQ(dollar.kinds(),
            (std::vector<TokenKind>{K::kw_seed, K::error, K::integer}));
  ASSERT_EQ(dollar.reported.size(), 1u);
  EXPECT_EQ(dollar.reported[0].message, "invalid character '$' in source");

  // One diagnostic for a whole UTF-8 sequence, shown as itself.
  Lexed accent("\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(accent.names(), (std::vector<std::string>{"invalid-character",
                                                      "invalid-character"}));
  EXPECT_EQ(accent.reported[0].message,
            "invalid character '\xC3\xA9' in source");
  // A control character is shown escaped.
  Lexed control("a \x01 b");
  ASSERT_EQ(control.reported.size(), 1u);
  EXPECT_EQ(control.reported[0].message, "invalid character '\\x01' in source");
  // Lone '|' and '&' are not operators.
  Lexed lone("a | b & c");
  EXPECT_EQ(lone.names(), (std::vector<std::string>{"invalid-character",
                                                    "invalid-character"}));
  // An error token does not change the regex-or-division decision.
  Lexed after("a $ / 2");
  EXPECT_EQ(after.tokens[2].getKind(), K::slash);
}

TEST(LexerTest, TokenKindNames) {
  EXPECT_EQ(tokenKindName(K::eof), "end of file");
  EXPECT_EQ(tokenKindName(K::identifier), "identifier");
  EXPECT_EQ(tokenKindName(K::l_paren), "'('");
  EXPECT_EQ(tokenKindName(K::kw_train), "'train'");
  EXPECT_EQ(tokenKindName(K::regex), "regular expression");
}

} // namespace
