//===- ParserTest.cpp - Tests for the .ftl parser -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "LangTestUtil.h"

#include "gtest/gtest.h"

using namespace ftl::lang;
using ftl::lang::test::sexpr;
using ftl::lang::test::Source;

namespace {

/// Parses `text` and returns one S-expression per statement.
struct Parsed : Source {
  explicit Parsed(llvm::StringRef text) : Source(text) {
    module = parse();
    for (const Stmt *s : module.stmts)
      stmts.push_back(sexpr(s));
  }
  Module module;
  std::vector<std::string> stmts;
};

/// The S-expression of the value in `let x = <text>`; fails the test on any
/// diagnostic.
static std::string expr(llvm::StringRef text) {
  Parsed parsed(("let x = " + text).str());
  EXPECT_TRUE(parsed.reported.empty())
      << text.str() << ": "
      << (parsed.reported.empty() ? "" : parsed.reported[0].message);
  if (parsed.module.stmts.size() != 1)
    return "<" + std::to_string(parsed.module.stmts.size()) + " statements>";
  return sexpr(llvm::cast<BindingStmt>(parsed.module.stmts[0])->getValue());
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

TEST(ParserTest, EveryStatementKind) {
  Parsed parsed(R"(
seed 1234
model base = llama(vocab: 512, dim: 128)
tokenizer tok = bytes()
data d = jsonl("a.jsonl", prompt: .q)
objective o = sft(d)
eval acc = exact_match(d.prompt, d.response)
let n = 3
adapter a = lora(rank: 8) on base.layers[*].attn.{q, v}, base.head
freeze base except a, base.layers[-1]
freeze base.embed
train base with o using adamw(lr: 3e-4) steps 200 batch 16
loop r in 1..3 until acc >= 0.9 { log r }
log acc, n
save a to "out/a"
def recipe(m: model, d: data) { train m with sft(d) steps 1 }
import std.recipes.{spin, faft}
import "lib/mine.ftl"
import std.recipes
pairs += best(d)
recipe(base, d)
)");
  EXPECT_TRUE(parsed.reported.empty());
  std::vector<std::string> expected = {
      "(seed 1234)",
      "(model base (call llama vocab=512 dim=128))",
      "(tokenizer tok (call bytes))",
      "(data d (call jsonl \"a.jsonl\" prompt=.q))",
      "(objective o (call sft d))",
      "(eval acc (call exact_match (. d prompt) (. d response)))",
      "(let n 3)",
      "(adapter a (call lora rank=8) on (. (. (idx (. base layers) *) attn) "
      "{q,v}) (. base head))",
      "(freeze base except a (idx (. base layers) (neg 1)))",
      "(freeze (. base embed))",
      "(train base o using=(call adamw lr=f0.0003) steps=200 batch=16)",
      "(loop r (.. 1 3) until (>= acc f0.9) { (log r) })",
      "(log acc n)",
      "(save a \"out/a\")",
      "(def recipe (m:model d:data) { (train m (call sft d) steps=1) })",
      "(import module std.recipes spin faft)",
      "(import file lib/mine.ftl)",
      "(import module std.recipes)",
      "(+= pairs (call best d))",
      "(do (call recipe base d))",
  };
  EXPECT_EQ(parsed.stmts, expected);
}

TEST(ParserTest, StatementRanges) {
  Parsed parsed("seed 1\nmodel m = f(a,\n  b)  // c\nlog x");
  ASSERT_EQ(parsed.module.stmts.size(), 3u);
  EXPECT_EQ(Source::textOf(parsed.module.stmts[1]->getRange()),
            "model m = f(a,\n  b)");
  const auto *binding = llvm::cast<BindingStmt>(parsed.module.stmts[1]);
  EXPECT_EQ(Source::textOf(binding->getNameRange()), "m");
  const auto *call = llvm::cast<CallExpr>(binding->getValue());
  EXPECT_EQ(Source::textOf(call->getCalleeRange()), "f");
  EXPECT_EQ(Source::textOf(call->getRange()), "f(a,\n  b)");
}

TEST(ParserTest, KeywordsAsMemberAndArgumentNames) {
  EXPECT_EQ(expr("clean.eval"), "(. clean eval)");
  EXPECT_EQ(expr("split(d, eval: 10%, on: .x)"),
            "(call split d eval=pct0.1 on=.x)");
  EXPECT_EQ(expr(".data"), ".data");
}

TEST(ParserTest, CallsAndLists) {
  EXPECT_EQ(expr("f()"), "(call f)");
  EXPECT_EQ(expr("f(1, 2,)"), "(call f 1 2)");
  EXPECT_EQ(expr("f(g(h()), k: [1, 2])"), "(call f (call g (call h)) k=[1 2])");
  EXPECT_EQ(expr("[]"), "[]");
  EXPECT_EQ(expr("[1, \"a\", /r/, true,]"), "[1 \"a\" re/r/ #t]");
  EXPECT_EQ(expr("xs[0]"), "(idx xs 0)");
  EXPECT_EQ(expr("a.b.c"), "(. (. a b) c)");
}

TEST(ParserTest, TrainClauses) {
  Parsed parsed(
      "train m with o using adamw() schedule cosine() steps 1 epochs 2 "
      "batch 3 seq 4 accumulate 5 clip 1.0 eval_every 6 eval_on d "
      "log_every 7 save_every 8 recompute all device cpu precision bf16");
  EXPECT_TRUE(parsed.reported.empty());
  const auto *train = llvm::cast<TrainStmt>(parsed.module.stmts[0]);
  std::vector<std::string> names;
  for (const TrainClause &c : train->getClauses())
    names.push_back(c.name.str());
  std::vector<std::string> expected;
  for (llvm::StringRef name : getTrainClauseNames())
    expected.push_back(name.str());
  EXPECT_EQ(names, expected);
  EXPECT_EQ(expected.size(), 15u);
  ASSERT_NE(train->findClause("clip"), nullptr);
  EXPECT_EQ(sexpr(train->findClause("clip")->value), "f1");
  EXPECT_EQ(train->findClause("nothing"), nullptr);
}

TEST(ParserTest, TrainEndsWhereTheNextStatementBegins) {
  // A call or `+=` at the start of a line is a new statement, even when its
  // name is a clause name.
  Parsed parsed("train m with o steps 1\nrecipe(m)\ntrain m with o steps 1\n"
                "seq += x\nlog m");
  EXPECT_TRUE(parsed.reported.empty());
  EXPECT_EQ(parsed.stmts, (std::vector<std::string>{
                              "(train m o steps=1)", "(do (call recipe m))",
                              "(train m o steps=1)", "(+= seq x)", "(log m)"}));
  // Clauses may continue on the next line.
  Parsed multi("train m with o\n  using adamw()\n  steps 10");
  EXPECT_EQ(multi.stmts, std::vector<std::string>{
                             "(train m o using=(call adamw) steps=10)"});
}

TEST(ParserTest, ExpressionsContinueOnTheNextLine) {
  Parsed parsed("data d = src\n  |> filter(.a)\n  |> take(3)\nobjective o = "
                "sft(d)\n  + 0.5 * dpo(d)");
  EXPECT_TRUE(parsed.reported.empty());
  EXPECT_EQ(parsed.stmts,
            (std::vector<std::string>{
                "(data d (|> (|> src (call filter .a)) (call take 3)))",
                "(objective o (+ (call sft d) (* f0.5 (call dpo d))))"}));
}

//===----------------------------------------------------------------------===//
// Precedence and associativity
//===----------------------------------------------------------------------===//

TEST(ParserTest, ArithmeticPrecedence) {
  EXPECT_EQ(expr("1 + 2 * 3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(expr("1 * 2 + 3"), "(+ (* 1 2) 3)");
  EXPECT_EQ(expr("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(expr("a / b * c"), "(* (/ a b) c)");
  EXPECT_EQ(expr("-a * b"), "(* (neg a) b)");
  EXPECT_EQ(expr("- -a"), "(neg (neg a))");
  EXPECT_EQ(expr("-f(x).y"), "(neg (. (call f x) y))");
}

TEST(ParserTest, LeftAssociativity) {
  EXPECT_EQ(expr("1 - 2 - 3"), "(- (- 1 2) 3)");
  EXPECT_EQ(expr("8 / 4 / 2"), "(/ (/ 8 4) 2)");
  EXPECT_EQ(expr("a || b || c"), "(|| (|| a b) c)");
  EXPECT_EQ(expr("a && b && c"), "(&& (&& a b) c)");
  EXPECT_EQ(expr("d |> f() |> g()"), "(|> (|> d (call f)) (call g))");
}

TEST(ParserTest, LogicalAndComparisonPrecedence) {
  EXPECT_EQ(expr("a || b && c"), "(|| a (&& b c))");
  EXPECT_EQ(expr("a && b || c"), "(|| (&& a b) c)");
  EXPECT_EQ(expr("!a && b"), "(&& (not a) b)");
  EXPECT_EQ(expr("a < b + 1"), "(< a (+ b 1))");
  EXPECT_EQ(expr("a == b && c != d"), "(&& (== a b) (!= c d))");
  EXPECT_EQ(expr(".a =~ /x/ || .b !~ /y/i"),
            "(|| (=~ .a re/x/) (!~ .b re/y/i))");
  EXPECT_EQ(expr("acc >= 0.9"), "(>= acc f0.9)");
  EXPECT_EQ(expr("a <= b"), "(<= a b)");
  EXPECT_EQ(expr("a > b"), "(> a b)");
}

TEST(ParserTest, RangesBindLooserThanArithmetic) {
  EXPECT_EQ(expr("1..n + 1"), "(.. 1 (+ n 1))");
  EXPECT_EQ(expr("2.."), "(.. 2 <>)");
  EXPECT_EQ(expr("..3"), "(.. <> 3)");
  EXPECT_EQ(expr("1..2 == r"), "(== (.. 1 2) r)");
}

TEST(ParserTest, PipeBindsLoosest) {
  EXPECT_EQ(expr("a + b |> f()"), "(|> (+ a b) (call f))");
  EXPECT_EQ(expr("a || b |> f(x: 1)"), "(|> (|| a b) (call f x=1))");
}

TEST(ParserTest, ComparisonsDoNotChain) {
  Parsed parsed("let x = a < b < c");
  EXPECT_FALSE(parsed.reported.empty());
}

//===----------------------------------------------------------------------===//
// Selectors
//===----------------------------------------------------------------------===//

static std::string selector(llvm::StringRef text) {
  Parsed parsed(("freeze " + text).str());
  EXPECT_TRUE(parsed.reported.empty())
      << text.str() << ": "
      << (parsed.reported.empty() ? "" : parsed.reported[0].message);
  if (parsed.module.stmts.size() != 1)
    return "<none>";
  return sexpr(llvm::cast<FreezeStmt>(parsed.module.stmts[0])->getTargets()[0]);
}

TEST(ParserTest, SelectorForms) {
  EXPECT_EQ(selector("base"), "base");
  EXPECT_EQ(selector("base.layers[*].attn.{q, v}"),
            "(. (. (idx (. base layers) *) attn) {q,v})");
  EXPECT_EQ(selector("base.layers[2..].mlp.*"),
            "(. (. (idx (. base layers) (.. 2 <>)) mlp) *)");
  EXPECT_EQ(selector("base.layers[-2..]"),
            "(idx (. base layers) (.. (neg 2) <>))");
  EXPECT_EQ(selector("base.layers[..1]"), "(idx (. base layers) (.. <> 1))");
  EXPECT_EQ(selector("base.layers[1..2]"), "(idx (. base layers) (.. 1 2))");
  EXPECT_EQ(selector("base.layers[0, 3]"), "(idx (. base layers) [0 3])");
  EXPECT_EQ(selector("base.layers[-1]"), "(idx (. base layers) (neg 1))");
  EXPECT_EQ(selector("base.layers[*].norm"),
            "(. (idx (. base layers) *) norm)");
  EXPECT_EQ(selector("base.layers[*].mlp.g*"),
            "(. (. (idx (. base layers) *) mlp) g*)");
  EXPECT_EQ(selector("base.*"), "(. base *)");
}

TEST(ParserTest, SelectorListsWithExcept) {
  Parsed parsed("freeze m.embed, m.head except a, m.layers[-1]\n"
                "adapter p = prompt(tokens: 4) on m");
  EXPECT_TRUE(parsed.reported.empty());
  EXPECT_EQ(parsed.stmts,
            (std::vector<std::string>{
                "(freeze (. m embed) (. m head) except a (idx (. m layers) "
                "(neg 1)))",
                "(adapter p (call prompt tokens=4) on m)"}));
}

TEST(ParserTest, SelectorErrors) {
  Parsed paren("adapter a = lora() on (m)");
  EXPECT_EQ(paren.names(), std::vector<std::string>{"expected-selector"});
  Parsed kind("adapter a = m on m");
  EXPECT_EQ(kind.names(), std::vector<std::string>{"expected-token"});
  Parsed noOn("adapter a = lora() m.x");
  ASSERT_FALSE(noOn.reported.empty());
  EXPECT_NE(noOn.reported[0].message.find("expected 'on'"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Errors and recovery
//===----------------------------------------------------------------------===//

TEST(ParserTest, RecoveryReportsEveryIndependentError) {
  Parsed parsed(R"(model m llama()
let ok1 = 1
let y = (1 + )
log ok2
train m with o stpes 10
}
data d = x |> shuffle
seed 7
def f(x: int) { log x
)");
  EXPECT_EQ(parsed.names(), (std::vector<std::string>{
                                "expected-token", "expected-expression",
                                "unknown-train-clause", "expected-statement",
                                "expected-pipe-target", "expected-token"}));
  // The statements between the errors still parse.
  EXPECT_EQ(parsed.stmts,
            (std::vector<std::string>{"(let ok1 1)", "(log ok2)", "(seed 7)"}));
  // Each error is on its own line.
  std::vector<unsigned> lines;
  for (const Diagnostic &d : parsed.reported)
    lines.push_back(parsed.lineCol(d.range.Start).first);
  EXPECT_EQ(lines, (std::vector<unsigned>{1, 3, 5, 6, 7, 9}));
}

TEST(ParserTest, RecoveryInsideBlocks) {
  Parsed parsed("loop r in 1..2 {\n  let = 3\n  log r\n}\nlog done");
  EXPECT_EQ(parsed.names(), std::vector<std::string>{"expected-token"});
  EXPECT_EQ(parsed.stmts, (std::vector<std::string>{
                              "(loop r (.. 1 2) { (log r) })", "(log done)"}));
}

TEST(ParserTest, MissingTokenIsReportedAfterThePreviousToken) {
  Parsed parsed("let y =\nlog x");
  ASSERT_EQ(parsed.reported.size(), 1u);
  EXPECT_EQ(parsed.reported[0].message,
            "expected an expression, found keyword 'log'");
  // At the end of line 1, not at 'log'.
  EXPECT_EQ(parsed.lineCol(parsed.reported[0].range.Start),
            std::make_pair(1u, 8u));
}

TEST(ParserTest, ErrorMessages) {
  Parsed eq("model base llama()");
  ASSERT_EQ(eq.reported.size(), 1u);
  EXPECT_EQ(eq.reported[0].message, "expected '=', found identifier 'llama'");

  Parsed pos("let m = f(a: 1, 2)");
  EXPECT_EQ(pos.names(), std::vector<std::string>{"positional-after-keyword"});

  Parsed dup("train m with o steps 1 steps 2");
  ASSERT_EQ(dup.reported.size(), 1u);
  EXPECT_EQ(dup.reported[0].message,
            "duplicate 'steps' clause in 'train'; expected each clause at "
            "most once");

  Parsed clause("train m with o stpes 1");
  ASSERT_EQ(clause.reported.size(), 1u);
  ASSERT_EQ(clause.reported[0].notes.size(), 1u);
  EXPECT_EQ(clause.reported[0].notes[0].message, "did you mean 'steps'?");

  Parsed nested("loop r in 1..2 { def f() { } }\nloop r in 1..2 { import x }");
  EXPECT_EQ(nested.names(),
            (std::vector<std::string>{"nested-def", "nested-def"}));

  Parsed unused("1 + 2");
  ASSERT_EQ(unused.reported.size(), 1u);
  EXPECT_EQ(unused.reported[0].getName(), "expected-statement");
  EXPECT_NE(unused.reported[0].message.find("whose value is not used"),
            std::string::npos);

  Parsed eof("let x = f(1");
  ASSERT_EQ(eof.reported.size(), 1u);
  EXPECT_EQ(eof.reported[0].message,
            "expected ')' to close the argument list, found end of file");

  Parsed brace("loop r in 1..2 { log r");
  ASSERT_EQ(brace.reported.size(), 1u);
  EXPECT_EQ(brace.reported[0].message,
            "expected '}' to close the block, found end of file");
}

TEST(ParserTest, LexerErrorsAreNotReportedTwice) {
  Parsed parsed("let x = $\nlet y = \"abc\nlet z = 1");
  EXPECT_EQ(parsed.names(), (std::vector<std::string>{"invalid-character",
                                                      "unterminated-string"}));
  EXPECT_EQ(parsed.stmts, std::vector<std::string>{"(let z 1)"});
}

TEST(ParserTest, EmptyAndCommentOnlyFiles) {
  Parsed empty("");
  EXPECT_TRUE(empty.module.stmts.empty());
  EXPECT_TRUE(empty.reported.empty());
  Parsed comments("// a\n// b\n");
  EXPECT_TRUE(comments.module.stmts.empty());
  EXPECT_EQ(comments.comments.size(), 2u);
}

TEST(ParserTest, ModulePathAndBuffer) {
  Source source("log x", "dir/script.ftl");
  Module module = source.parse();
  EXPECT_EQ(module.path, "dir/script.ftl");
  EXPECT_EQ(module.bufferId, source.bufferId);
}

//===----------------------------------------------------------------------===//
// Depth limits
//===----------------------------------------------------------------------===//

TEST(ParserTest, DeepParenthesesAreAnErrorNotACrash) {
  std::string text = "let x = " + std::string(100000, '(') + "1" +
                     std::string(100000, ')') + "\nlog ok";
  Parsed parsed(text);
  EXPECT_EQ(parsed.names(), std::vector<std::string>{"nesting-too-deep"});
  EXPECT_EQ(parsed.stmts, std::vector<std::string>{"(log ok)"});
}

TEST(ParserTest, DeepOperatorChainsAreAnErrorNotACrash) {
  // Each of these builds a tree as deep as the input is long.
  for (std::string piece : {"1 + ", "-", "!", "a.", "f(", "[", "|> f() "}) {
    std::string text = piece[0] == '|' ? "let x = d " : "let x = ";
    for (int i = 0; i < 50000; ++i)
      text += piece;
    text += "\nlog ok";
    Parsed parsed(text);
    ASSERT_FALSE(parsed.reported.empty()) << piece;
    EXPECT_EQ(parsed.reported[0].getName(), "nesting-too-deep") << piece;
    ASSERT_FALSE(parsed.stmts.empty()) << piece;
    EXPECT_EQ(parsed.stmts.back(), "(log ok)") << piece;
  }
}

TEST(ParserTest, DeepBlocksAreAnErrorNotACrash) {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "loop r in 1..2 {\n";
  for (int i = 0; i < 20000; ++i)
    text += "}\n";
  Parsed parsed(text);
  ASSERT_FALSE(parsed.reported.empty());
  EXPECT_EQ(parsed.reported[0].getName(), "nesting-too-deep");
}

TEST(ParserTest, ReasonableNestingIsFine) {
  std::string text = "let x = " + std::string(100, '(') + "1" +
                     std::string(100, ')') + "\nlet y = 0";
  for (int i = 0; i < 150; ++i)
    text += " + " + std::to_string(i);
  std::string loops;
  for (int i = 0; i < 50; ++i)
    loops += "loop r" + std::to_string(i) + " in 1..2 {\n";
  loops += "log x\n" + std::string(50, '}');
  Parsed parsed(text + "\n" + loops);
  EXPECT_TRUE(parsed.reported.empty())
      << (parsed.reported.empty() ? "" : parsed.reported[0].message);
  EXPECT_EQ(parsed.module.stmts.size(), 3u);
}

TEST(ParserTest, LongLines) {
  // A 1 MB line of arguments parses (no quadratic behaviour, no crash).
  std::string text = "log f(";
  for (int i = 0; i < 100000; ++i)
    text += "x" + std::to_string(i) + ", ";
  text += ")";
  Parsed parsed(text);
  EXPECT_TRUE(parsed.reported.empty());
  ASSERT_EQ(parsed.module.stmts.size(), 1u);
  const auto *log = llvm::cast<LogStmt>(parsed.module.stmts[0]);
  EXPECT_EQ(llvm::cast<CallExpr>(log->getValues()[0])->getArgs().size(),
            100000u);
}

} // namespace
