//===- FormatterTest.cpp - Tests for `ftl fmt` ----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "ftl/Lang/Formatter.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace ftl::lang;
using ftl::lang::test::sexpr;
using ftl::lang::test::Source;

namespace {

/// The result of parsing and formatting one text.
struct Formatted {
  bool ok = false;
  std::string text;                  ///< the formatted text
  std::vector<std::string> stmts;    ///< S-expressions of the statements
  std::vector<std::string> comments; ///< comment texts, sorted
  std::string firstError;
};

Formatted format(llvm::StringRef input) {
  Source source(input);
  Module module = source.parse();
  Formatted out;
  out.ok = source.reported.empty();
  if (!out.ok) {
    out.firstError = source.reported[0].message;
    return out;
  }
  out.text = formatModule(module, source.text(), source.comments);
  for (const Stmt *s : module.stmts)
    out.stmts.push_back(sexpr(s));
  for (const Token &c : source.comments)
    out.comments.push_back(c.getSpelling().rtrim().str());
  llvm::sort(out.comments);
  return out;
}

/// Checks the formatter's promises on `input` (which must parse): the output
/// parses to the same program, keeps every comment, and is a fixed point.
void checkFormatting(llvm::StringRef input, const std::string &what) {
  Formatted once = format(input);
  ASSERT_TRUE(once.ok) << what
                       << ": the input does not parse: " << once.firstError
                       << "\n"
                       << input.str();
  Formatted twice = format(once.text);
  ASSERT_TRUE(twice.ok) << what << ": formatted output does not parse: "
                        << twice.firstError << "\n--- input\n"
                        << input.str() << "\n--- output\n"
                        << once.text;
  EXPECT_EQ(once.stmts, twice.stmts)
      << what << ": formatting changed the program\n--- input\n"
      << input.str() << "\n--- output\n"
      << once.text;
  EXPECT_EQ(once.comments, twice.comments)
      << what << ": formatting lost or changed a comment\n--- input\n"
      << input.str() << "\n--- output\n"
      << once.text;
  EXPECT_EQ(once.text, twice.text)
      << what << ": formatting is not idempotent\n--- input\n"
      << input.str();
}

//===----------------------------------------------------------------------===//
// Every .ftl file of the repository
//===----------------------------------------------------------------------===//

std::vector<std::string> ftlFiles(llvm::StringRef dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::recursive_directory_iterator it(dir, ec), end;
       it != end && !ec; it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".ftl")
      files.push_back(it->path());
  llvm::sort(files);
  return files;
}

/// Splits a test file at `// -----` lines, like --split-input-file.
std::vector<std::string> splitPieces(llvm::StringRef text) {
  std::vector<std::string> pieces(1);
  llvm::SmallVector<llvm::StringRef, 64> lines;
  text.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    if (line.rtrim() == "// -----") {
      pieces.emplace_back();
      continue;
    }
    pieces.back() += line.str() + "\n";
  }
  return pieces;
}

TEST(FormatterTest, RepositoryFilesFormatStably) {
  std::string root = FTL_SOURCE_DIR;
  unsigned checked = 0, skipped = 0, files = 0;
  for (const char *dir : {"examples", "stdlib", "test/Lang"}) {
    for (const std::string &path : ftlFiles(root + "/" + dir)) {
      auto buffer = llvm::MemoryBuffer::getFile(path);
      ASSERT_TRUE(bool(buffer)) << path;
      ++files;
      std::vector<std::string> pieces = splitPieces((*buffer)->getBuffer());
      for (size_t i = 0; i < pieces.size(); ++i) {
        // Pieces that test syntax errors cannot be formatted.
        if (!format(pieces[i]).ok) {
          ++skipped;
          continue;
        }
        checkFormatting(pieces[i], path + " piece " + std::to_string(i + 1));
        ++checked;
      }
    }
  }
  // The corpus is not empty, and most of it is valid syntax.
  EXPECT_GE(files, 20u);
  EXPECT_GE(checked, 60u);
  EXPECT_GT(checked, 3 * skipped);
}

TEST(FormatterTest, ExamplesAreAlreadyFormatted) {
  // examples/ and stdlib/ are kept in canonical form (a lit test runs
  // `ftl fmt --check` on them too).
  std::string root = FTL_SOURCE_DIR;
  for (const char *dir : {"examples", "stdlib"})
    for (const std::string &path : ftlFiles(root + "/" + dir)) {
      auto buffer = llvm::MemoryBuffer::getFile(path);
      ASSERT_TRUE(bool(buffer));
      Formatted f = format((*buffer)->getBuffer());
      ASSERT_TRUE(f.ok) << path;
      EXPECT_EQ(f.text, (*buffer)->getBuffer().str()) << path;
    }
}

//===----------------------------------------------------------------------===//
// Layout rules (Formatter.h)
//===----------------------------------------------------------------------===//

std::string fmt(llvm::StringRef input) {
  Formatted f = format(input);
  EXPECT_TRUE(f.ok) << f.firstError;
  return f.text;
}

TEST(FormatterTest, SpacingAndIndentation) {
  EXPECT_EQ(fmt("model   base=llama( vocab:64,dim:32 )"),
            "model base = llama(vocab: 64, dim: 32)\n");
  EXPECT_EQ(
      fmt("loop r in 1..2{log r\nloop s in 1..3 {log s}}"),
      "loop r in 1..2 {\n  log r\n  loop s in 1..3 {\n    log s\n  }\n}\n");
  EXPECT_EQ(fmt("def f(a:int,b : data){}"), "def f(a: int, b: data) {\n}\n");
  EXPECT_EQ(fmt("let x=[1,2,]\nlog  x , -y"), "let x = [1, 2]\nlog x, -y\n");
  EXPECT_EQ(fmt("freeze b.layers[ 0 ,3 ].{q,v} except a"),
            "freeze b.layers[0, 3].{q, v} except a\n");
  EXPECT_EQ(fmt("import std . recipes . { spin , faft }"),
            "import std.recipes.{spin, faft}\n");
  EXPECT_EQ(fmt(""), "");
}

TEST(FormatterTest, BlankLines) {
  // At most one blank line is kept; none at the start or the end.
  EXPECT_EQ(fmt("\n\nlog a\n\n\n\nlog b\nlog c\n\n"),
            "log a\n\nlog b\nlog c\n");
  EXPECT_EQ(fmt("loop r in 1..2 {\n\n  log a\n\n\n  log b\n}"),
            "loop r in 1..2 {\n  log a\n\n  log b\n}\n");
}

TEST(FormatterTest, Parentheses) {
  // Only where they change the meaning.
  EXPECT_EQ(fmt("let a = ((1 + 2)) * (3)"), "let a = (1 + 2) * 3\n");
  EXPECT_EQ(fmt("let a = 1 - (2 - 3) - (4 + 5)"),
            "let a = 1 - (2 - 3) - (4 + 5)\n");
  EXPECT_EQ(fmt("let a = (1 - 2) - 3"), "let a = 1 - 2 - 3\n");
  EXPECT_EQ(fmt("let a = -(x + 1) * !(b)"), "let a = -(x + 1) * !b\n");
  EXPECT_EQ(fmt("let a = (a < b) == (c < d)"), "let a = (a < b) == (c < d)\n");
  EXPECT_EQ(fmt("let a = (a || b) && c"), "let a = (a || b) && c\n");
  EXPECT_EQ(fmt("let a = (d |> f()).x"), "let a = (d |> f()).x\n");
  EXPECT_EQ(fmt("let a = (1..2)..3"), "let a = (1..2)..3\n");
}

TEST(FormatterTest, PipelinesWithTwoStagesBreak) {
  EXPECT_EQ(fmt("data d = s |> take(3)"), "data d = s |> take(3)\n");
  EXPECT_EQ(fmt("data d = s |> filter(.a) |> take(3)"),
            "data d = s\n  |> filter(.a)\n  |> take(3)\n");
  EXPECT_EQ(
      fmt("loop r in 1..2 { data d = s |> filter(.a) |> take(3) }"),
      "loop r in 1..2 {\n  data d = s\n    |> filter(.a)\n    |> take(3)\n}\n");
}

TEST(FormatterTest, ObjectivesWithThreeTermsBreak) {
  EXPECT_EQ(fmt("objective o = sft(d) + 0.5 * dpo(p)"),
            "objective o = sft(d) + 0.5 * dpo(p)\n");
  EXPECT_EQ(fmt("objective o = sft(d) + 0.5 * dpo(p) - 0.1 * kl(m)"),
            "objective o = sft(d)\n"
            "            + 0.5 * dpo(p)\n"
            "            - 0.1 * kl(m)\n");
}

TEST(FormatterTest, LongStatementsBreakAtClauses) {
  std::string input = "train base with objective_with_a_long_name using "
                      "adamw(lr: 3e-4, weight_decay: 0.1) schedule "
                      "cosine(warmup: 100) steps 2000 batch 64 seq 512 "
                      "accumulate 4 clip 1.0";
  std::string out = fmt(input);
  EXPECT_EQ(out, "train base with objective_with_a_long_name using adamw(lr: "
                 "3e-4, weight_decay: 0.1)\n"
                 "  schedule cosine(warmup: 100)\n"
                 "  steps 2000 batch 64 seq 512 accumulate 4 clip 1.0\n");
  for (llvm::StringRef line : llvm::split(out, '\n'))
    EXPECT_LE(line.size(), 100u);
  // Short trains stay on one line.
  EXPECT_EQ(fmt("train m with o\n  steps 1\n  batch 2"),
            "train m with o steps 1 batch 2\n");
}

TEST(FormatterTest, CommentsStayWithTheirCode) {
  EXPECT_EQ(fmt("seed 7 // the seed\n// leading\nlog x"),
            "seed 7  // the seed\n// leading\nlog x\n");
  // Trailing comments on consecutive lines are aligned.
  EXPECT_EQ(
      fmt("let a = 1 // one\nlet bbbbbb = 2 // two\n\nlet c = 3 // three"),
      "let a = 1       // one\nlet bbbbbb = 2  // two\n\nlet c = 3  // "
      "three\n");
  // A comment inside a statement breaks it so the comment stays in place.
  EXPECT_EQ(fmt("data d = s // source\n  |> take(3)"),
            "data d = s  // source\n  |> take(3)\n");
  // (Consecutive lines: their comments are aligned.)
  EXPECT_EQ(fmt("loop r in 1..2 { // header\n  log r // body\n} // end"),
            "loop r in 1..2 {  // header\n"
            "  log r           // body\n"
            "}                 // end\n");
  EXPECT_EQ(fmt("log x\n// at the end\n\n// really"),
            "log x\n// at the end\n\n// really\n");
}

//===----------------------------------------------------------------------===//
// Regressions (found by fuzz/frontend_fuzz.cpp and the property test)
//===----------------------------------------------------------------------===//

TEST(FormatterTest, BraceInsideACommentAtTheTopOfABlock) {
  // The block's `{` was searched for backwards from the first statement and
  // found inside the comment: the comment moved onto the header line, and a
  // second header comment was printed twice.
  std::string input = "def f(n: int) {\n  // expected {{x}}\n  f(n)\n}\n";
  EXPECT_EQ(fmt(input), input);
  checkFormatting(
      "def g(\n n: int, // p\n m: int) { // h\n  // {{a}}\n  log n\n}",
      "two header comments");
  checkFormatting("loop r in 1..2 // a {\n { // b {\n // c {\n log r }",
                  "braces in every comment");
}

TEST(FormatterTest, IndexWithAListLiteral) {
  // `x[[1, 2]]` indexes with a list; it lost its brackets (`x[1, 2]` does
  // not parse outside selectors).
  EXPECT_EQ(fmt("let y = x[[1, 2]]"), "let y = x[[1, 2]]\n");
  EXPECT_EQ(fmt("freeze m.layers[0, 1]"), "freeze m.layers[0, 1]\n");
  EXPECT_EQ(fmt("freeze m.layers[[0, 1]]"), "freeze m.layers[[0, 1]]\n");
}

TEST(FormatterTest, OpenRangeAtTheEndOfAStatement) {
  // Without parentheses `2..` takes the next statement's first token as its
  // upper bound.
  checkFormatting("let r = (2..)\nf(x)", "binding");
  EXPECT_EQ(fmt("let r = (2..)\nf(x)"), "let r = (2..)\nf(x)\n");
  checkFormatting("let r = (1 < 2..)\nf(x)", "comparison");
  checkFormatting("train m with o steps (1..) batch 2", "clause");
  checkFormatting("log a, (1..)\nf(x)", "log");
  checkFormatting("seed (1..)\nf(x)", "seed");
  checkFormatting("save m to (1..)\nf(x)", "save");
  checkFormatting("x += (1..)\nf(x)", "append");
  // Parenthesized even where the next token could not continue it.
  EXPECT_EQ(fmt("let r = 1..\nlog x"), "let r = (1..)\nlog x\n");
}

TEST(FormatterTest, RegexAfterAClauseName) {
  // After an identifier `/` divides: `steps /r/` would not parse.
  EXPECT_EQ(fmt("train m with o steps (/r/)"), "train m with o steps (/r/)\n");
  checkFormatting("train m with o steps (/r/) batch (/a/ =~ /b/)", "regex");
}

TEST(FormatterTest, ClauseValueInParenthesesNeverStartsALine) {
  // At the start of a line `clip (x)` is a call statement.
  std::string input =
      "train base with objective_with_a_long_name using adamw(lr: 3e-4, "
      "weight_decay: 0.1) schedule cosine(warmup: 100) steps 2000 clip "
      "(a + b) * c batch 64 seq (512)";
  checkFormatting(input, "long train");
  std::string comment =
      "train m with o steps 1 clip // c\n (a + b) * c batch 2";
  checkFormatting(comment, "comment");
  for (const std::string &text : {input, comment}) {
    std::string formatted = fmt(text);
    for (llvm::StringRef line : llvm::split(formatted, '\n'))
      EXPECT_FALSE(line.ltrim().starts_with("clip")) << line.str();
  }
}

//===----------------------------------------------------------------------===//
// Property test: random programs
//===----------------------------------------------------------------------===//

/// Writes random, syntactically valid programs with comments and line
/// breaks in random places. Every random choice comes from ftl::rt::Rng.
class ProgramGenerator {
public:
  explicit ProgramGenerator(uint64_t seed) : rng(seed) {}

  std::string generate() {
    out.clear();
    regexAllowed = true;
    unsigned count = 1 + rng.below(6);
    for (unsigned i = 0; i < count; ++i)
      stmt(/*topLevel=*/true, 0);
    if (chance(20))
      comment();
    return out;
  }

private:
  bool chance(unsigned percent) { return rng.below(100) < percent; }
  size_t pick(size_t n) { return rng.below(n); }
  template <typename T>
  const T &pickOf(std::initializer_list<T> options) {
    return options.begin()[pick(options.size())];
  }

  void comment() { out += " // c" + std::to_string(++comments) + "\n"; }

  /// Emits a token, preceded by a space, a line break or a comment (only a
  /// space where `!mayBreak`).
  void tok(llvm::StringRef text, bool mayBreak = true) {
    if (!mayBreak && !out.empty() && out.back() != '\n') {
      out += " ";
    } else if (!out.empty() && out.back() != '\n') {
      unsigned r = pick(100);
      if (r < 6)
        out += "\n" + std::string(pick(5), ' ');
      else if (r < 10) {
        comment();
        out += std::string(pick(5), ' ');
      } else {
        out += " ";
      }
    }
    out += text.str();
    regexAllowed = allowsRegexAfter(text);
  }

  static bool allowsRegexAfter(llvm::StringRef text) {
    static const char *keywords[] = {
        "seed",   "model",  "tokenizer", "data",  "adapter", "on",
        "freeze", "except", "objective", "train", "with",    "eval",
        "loop",   "in",     "until",     "let",   "log",     "save",
        "to",     "def",    "import"};
    if (llvm::is_contained(keywords, text))
      return true;
    char last = text.back();
    if (llvm::isAlnum(last) || last == '_' || last == '"' || last == ')' ||
        last == ']' || last == '}' || last == '%')
      return false;
    if (text.size() > 1 && text.front() == '/')
      return false; // a regex literal
    return true;
  }

  void newStatement(unsigned indent) {
    if (!out.empty() && out.back() != '\n')
      out += chance(10) ? " // c" + std::to_string(++comments) + "\n" : "\n";
    if (chance(15))
      out += "\n";
    if (chance(15)) {
      out += std::string(indent, ' ');
      comment();
    }
    out += std::string(indent, ' ');
  }

  std::string name() {
    return pickOf<const char *>({"a", "b", "base", "data_1", "x", "eval",
                                 "data", "steps", "using", "q"});
  }
  std::string ident() {
    // Not a keyword (used as variables and callees).
    return pickOf<const char *>(
        {"a", "b", "base", "d1", "x", "sft", "lm", "filter", "take", "f"});
  }

  void atom() {
    bool afterRange = this->afterRange;
    this->afterRange = false;
    switch (pick(regexAllowed ? 12 : 11)) {
    case 0:
      return tok(std::to_string(pick(1000)));
    case 1:
      return tok(pickOf<const char *>({"0.5", "3e-4", "1_000", "2.5e+2"}));
    case 2:
      return tok(pickOf<const char *>({"15%", "0.5%", "100%"}));
    case 3:
      return tok(pickOf<const char *>({"200ms", "5s", "10m", "2h"}));
    case 4:
      return tok(pickOf<const char *>(
          {"\"s\"", "\"a\\nb\"", "\"\\u{1F600} //x\"", "\"\""}));
    case 5:
      return tok(pickOf<const char *>({"true", "false"}));
    case 6:
    case 7:
      return tok(ident());
    case 8:
      if (afterRange) // `1.. .x` is not a range up to a field
        return tok(ident());
      tok(".");
      return tok(name());
    case 9:
      return call();
    case 10: {
      tok("[");
      size_t n = pick(3);
      for (size_t i = 0; i < n; ++i) {
        if (i)
          tok(",");
        expr(depth + 1);
      }
      if (n && chance(20))
        tok(",");
      return tok("]");
    }
    default:
      return tok(pickOf<const char *>({"/a+/", "/[/]x/i", "/\\/\\d/ms"}));
    }
  }

  void call() {
    tok(ident());
    tok("(");
    size_t positional = pick(3), keywords = pick(3);
    for (size_t i = 0; i < positional + keywords; ++i) {
      if (i)
        tok(",");
      if (i >= positional) {
        tok(name());
        tok(":");
      }
      expr(depth + 1);
    }
    tok(")");
  }

  void postfix() {
    atom();
    for (size_t i = 0, n = pick(3); i < n && depth < 3; ++i) {
      if (chance(50)) {
        tok(".");
        tok(name());
      } else {
        tok("[");
        expr(depth + 1);
        tok("]");
      }
    }
  }

  void unary() {
    if (chance(15)) {
      afterRange = false;
      tok(pickOf<const char *>({"-", "!"}));
      return unary();
    }
    if (chance(15) && depth < 3) {
      afterRange = false;
      tok("(");
      expr(depth + 1);
      return tok(")");
    }
    postfix();
  }

  void binaryChain(unsigned level) {
    // Levels: || && comparison range additive multiplicative.
    if (level == 6)
      return unary();
    if (level == 3) { // range
      unsigned form = pick(8);
      if (form == 0) {
        tok("..");
        return binaryChain(4);
      }
      binaryChain(4);
      if (form == 1) {
        tok("..");
        if (chance(50)) {
          afterRange = true;
          binaryChain(4);
        } else
          needsClose = true; // an open range must not end the statement
      }
      return;
    }
    if (level == 2) { // comparison: at most one operator
      binaryChain(3);
      if (chance(15)) {
        tok(pickOf<const char *>(
            {"<", "<=", ">", ">=", "==", "!=", "=~", "!~"}));
        binaryChain(3);
      }
      return;
    }
    static const std::vector<std::vector<const char *>> ops = {
        {"||"}, {"&&"}, {}, {}, {"+", "-"}, {"*", "/"}};
    binaryChain(level + 1);
    while (chance(20)) {
      tok(ops[level][pick(ops[level].size())]);
      binaryChain(level + 1);
    }
  }

  void expr(unsigned d) {
    unsigned saved = depth;
    depth = d;
    if (depth > 3) {
      // Keep programs small: leaves only.
      tok(std::to_string(pick(10)));
      depth = saved;
      return;
    }
    binaryChain(0);
    while (chance(15)) {
      tok("|>");
      call();
    }
    depth = saved;
  }

  /// A whole statement-level expression: an open range at its end is
  /// wrapped in parentheses (the program would mean something else).
  void closedExpr() {
    needsClose = false;
    std::string before = out;
    bool regexBefore = regexAllowed;
    expr(0);
    if (needsClose) {
      // Regenerate without open ranges at the top: simplest is parentheses.
      out = before;
      regexAllowed = regexBefore;
      tok("(");
      needsClose = false;
      expr(0);
      needsClose = false;
      tok(")");
    }
  }

  void selector() {
    tok(ident());
    for (size_t i = 0, n = pick(4); i < n; ++i) {
      switch (pick(5)) {
      case 0:
        tok(".");
        tok(name());
        break;
      case 1:
        tok(".");
        tok(pickOf<const char *>({"*", "g*", "{q, v}", "{attn}"}));
        break;
      case 2:
        tok("[");
        tok(pickOf<const char *>(
            {"*", "0", "-1", "1..", "..2", "0, 3", "-2..-1"}));
        tok("]");
        break;
      default:
        tok(".");
        tok("layers");
        break;
      }
    }
  }

  void selectors() {
    for (size_t i = 0, n = 1 + pick(3); i < n; ++i) {
      if (i)
        tok(",");
      selector();
    }
  }

  void stmt(bool topLevel, unsigned indent) {
    newStatement(indent);
    unsigned kind = pick(topLevel ? 15 : 13);
    switch (kind) {
    case 0:
      tok("seed");
      return closedExpr();
    case 1:
    case 2:
      tok(pickOf<const char *>(
          {"model", "tokenizer", "data", "objective", "eval", "let"}));
      tok(ident());
      tok("=");
      return closedExpr();
    case 3:
      tok("adapter");
      tok(ident());
      tok("=");
      call();
      tok("on");
      return selectors();
    case 4:
      tok("freeze");
      selectors();
      if (chance(50)) {
        tok("except");
        selectors();
      }
      return;
    case 5: {
      tok("train");
      closedExpr();
      tok("with");
      closedExpr();
      std::vector<std::string> clauses;
      for (llvm::StringRef c : getTrainClauseNames())
        clauses.push_back(c.str());
      for (size_t i = 0, n = pick(5); i < n; ++i) {
        size_t at = pick(clauses.size());
        // `clip (x)` at the start of a line would be a call statement.
        tok(clauses[at], /*mayBreak=*/false);
        clauses.erase(clauses.begin() + at);
        closedExpr();
      }
      return;
    }
    case 6:
      if (indent >= 6)
        return closedLog();
      tok("loop");
      tok(ident());
      tok("in");
      closedExpr();
      if (chance(40)) {
        tok("until");
        closedExpr();
      }
      return block(indent);
    case 7:
    case 8:
      return closedLog();
    case 9:
      tok("save");
      closedExpr();
      tok("to");
      return closedExpr();
    case 10:
      tok(ident());
      tok("+=");
      return closedExpr();
    case 11:
    case 12:
      return call();
    case 13:
      tok("def");
      tok(ident());
      tok("(");
      for (size_t i = 0, n = pick(3); i < n; ++i) {
        if (i)
          tok(",");
        tok(ident());
        tok(":");
        tok(pickOf<const char *>({"model", "data", "int", "number"}));
      }
      tok(")");
      return block(indent);
    default:
      tok("import");
      if (chance(50)) {
        tok("\"lib/x.ftl\"");
      } else {
        tok("std");
        tok(".");
        tok("recipes");
      }
      if (chance(50)) {
        tok(".");
        tok("{");
        tok("spin");
        if (chance(50)) {
          tok(",");
          tok("faft");
        }
        tok("}");
      }
      return;
    }
  }

  void closedLog() {
    tok("log");
    for (size_t i = 0, n = 1 + pick(3); i < n; ++i) {
      if (i)
        tok(",");
      closedExpr();
    }
  }

  void block(unsigned indent) {
    tok("{");
    for (size_t i = 0, n = pick(4); i < n; ++i)
      stmt(/*topLevel=*/false, indent + 2);
    newStatement(indent);
    tok("}");
  }

  ftl::rt::Rng rng;
  std::string out;
  unsigned comments = 0;
  unsigned depth = 0;
  bool regexAllowed = true;
  bool needsClose = false;
  bool afterRange = false; ///< the previous token is a range's `..`
};

TEST(FormatterTest, RandomProgramsFormatStably) {
  ftl::rt::Rng seeds(20240611);
  unsigned parsed = 0;
  for (int i = 0; i < 2000; ++i) {
    uint64_t seed = seeds.next();
    ProgramGenerator generator(seed);
    std::string program = generator.generate();
    Formatted f = format(program);
    // The generator writes valid syntax; a failure here is a generator bug
    // or a parser bug, so report it.
    ASSERT_TRUE(f.ok) << "seed " << seed << ": " << f.firstError << "\n"
                      << program;
    ++parsed;
    checkFormatting(program, "seed " + std::to_string(seed));
    if (HasFailure())
      break;
  }
  EXPECT_EQ(parsed, 2000u);
}

TEST(FormatterTest, GeneratorIsDeterministic) {
  EXPECT_EQ(ProgramGenerator(7).generate(), ProgramGenerator(7).generate());
  EXPECT_NE(ProgramGenerator(7).generate(), ProgramGenerator(8).generate());
}

} // namespace
