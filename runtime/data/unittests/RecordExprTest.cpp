//===- RecordExprTest.cpp - filter/map expressions ------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/Json.h"
#include "ftl/Data/RecordExpr.h"

#include <cmath>

using namespace ftl::rt;
using namespace ftl::rt::test;
using Op = RecordExpr::Op;

namespace {

Record rec(llvm::StringRef json) {
  Value v;
  JsonParseError err;
  EXPECT_TRUE(parseJson(json, v, err)) << err.message;
  Record r(std::move(v.getObject()));
  r.provenance().source = std::make_shared<const std::string>("d.jsonl");
  r.provenance().line = 17;
  return r;
}

RecordExpr f(llvm::StringRef name) { return RecordExpr::field(name); }
RecordExpr lit(Value v) { return RecordExpr::literal(std::move(v)); }
RecordExpr bin(Op op, RecordExpr a, RecordExpr b) {
  return RecordExpr::binary(op, std::move(a), std::move(b));
}

Value eval(const RecordExpr &e, const Record &r,
           const Tokenizer *tok = nullptr) {
  return must(e.evaluate(r, tok));
}

} // namespace

TEST(RecordExpr, ComparisonsAndArithmetic) {
  Record r = rec(R"({"a":3,"b":2.5,"s":"abc","t":"abd","n":null})");
  EXPECT_EQ(eval(bin(Op::Lt, f("a"), f("b")), r), Value(false));
  EXPECT_EQ(eval(bin(Op::Ge, f("a"), lit(3)), r), Value(true));
  EXPECT_EQ(eval(bin(Op::Lt, f("s"), f("t")), r), Value(true));
  EXPECT_EQ(eval(bin(Op::Eq, f("a"), lit(3.0)), r), Value(true));
  EXPECT_EQ(eval(bin(Op::Ne, f("n"), lit(Value())), r), Value(false));
  EXPECT_EQ(eval(bin(Op::Eq, f("s"), lit(Value())), r), Value(false));
  Value sum = eval(bin(Op::Add, f("a"), lit(4)), r);
  EXPECT_TRUE(sum.isInt());
  EXPECT_EQ(sum.getInt(), 7);
  EXPECT_EQ(eval(bin(Op::Mul, f("a"), f("b")), r).getNumber(), 7.5);
  EXPECT_EQ(eval(bin(Op::Sub, lit(1), f("a")), r).getInt(), -2);
  Value q = eval(bin(Op::Div, f("a"), lit(2)), r);
  EXPECT_EQ(q.kind(), Value::Kind::Double);
  EXPECT_EQ(q.getNumber(), 1.5);
  EXPECT_EQ(eval(bin(Op::Add, f("s"), f("t")), r).getString(), "abcabd");
  EXPECT_EQ(eval(RecordExpr::unary(Op::Neg, f("a")), r).getInt(), -3);
  // Overflow falls back to doubles.
  EXPECT_EQ(eval(bin(Op::Mul, lit(int64_t(1) << 62), lit(4)), r).getNumber(),
            std::ldexp(1.0, 64));
}

TEST(RecordExpr, BooleansShortCircuit) {
  Record r = rec(R"({"x":1})");
  // The right side would fail (missing field) but is never evaluated.
  auto e = bin(Op::And, lit(false), bin(Op::Eq, f("missing"), lit(1)));
  EXPECT_EQ(eval(e, r), Value(false));
  e = bin(Op::Or, lit(true), f("missing"));
  EXPECT_EQ(eval(e, r), Value(true));
  EXPECT_EQ(eval(!lit(true), r), Value(false));
  EXPECT_EQ(eval(lit(true) && bin(Op::Gt, f("x"), lit(0)), r), Value(true));
}

TEST(RecordExpr, RegexIsPartialMatch) {
  Record r = rec(R"({"answer":"-42","text":"the answer is 42"})");
  auto num = must(RecordExpr::match(f("answer"), "^-?[0-9]+$"));
  EXPECT_EQ(eval(num, r), Value(true));
  auto partial = must(RecordExpr::match(f("text"), "[0-9]+"));
  EXPECT_EQ(eval(partial, r), Value(true));
  auto anchored = must(RecordExpr::match(f("text"), "^[0-9]+$"));
  EXPECT_EQ(eval(anchored, r), Value(false));
  EXPECT_EQ(errorOf(RecordExpr::match(f("text"), "(unclosed")),
            "invalid regular expression /(unclosed/: missing ): (unclosed "
            "(re2 syntax expected)");
}

TEST(RecordExpr, LenCountsCodePoints) {
  Record r = rec(R"({"s":"h\u00e9llo \ud83d\ude00","l":[1,2,3],"o":{"a":1}})");
  EXPECT_EQ(eval(RecordExpr::unary(Op::Len, f("s")), r).getInt(), 7);
  EXPECT_EQ(eval(RecordExpr::unary(Op::Len, f("l")), r).getInt(), 3);
  EXPECT_EQ(eval(RecordExpr::unary(Op::Len, f("o")), r).getInt(), 1);
}

TEST(RecordExpr, NTokensUsesTheTokenizer) {
  Record r = rec(R"({"s":"abcdef"})");
  CharTokenizer tok;
  tok.pairs = true; // 2 bytes per token
  EXPECT_EQ(eval(RecordExpr::unary(Op::NTokens, f("s")), r, &tok).getInt(), 3);
  EXPECT_EQ(errorOf(RecordExpr::unary(Op::NTokens, f("s")).evaluate(r)),
            "d.jsonl:17: ntokens() needs the pipeline's tokenizer, but none "
            "was given (in ntokens(.s))");
}

TEST(RecordExpr, TypeErrorsNameTheRecord) {
  Record r = rec(R"({"answer":42,"s":"x"})");
  auto re = must(RecordExpr::match(f("answer"), "^[0-9]+$"));
  EXPECT_EQ(errorOf(re.evaluate(r)),
            "d.jsonl:17: '=~' expects a string, found a number (in "
            "(.answer =~ /^[0-9]+$/))");
  EXPECT_EQ(errorOf(bin(Op::Lt, f("s"), f("answer")).evaluate(r)),
            "d.jsonl:17: cannot apply '<' to a string and a number (in "
            "(.s < .answer))");
  EXPECT_EQ(errorOf(bin(Op::Eq, f("s"), lit(1)).evaluate(r)),
            "d.jsonl:17: cannot apply '==' to a string and a number (in "
            "(.s == 1))");
  EXPECT_EQ(errorOf(bin(Op::Div, f("answer"), lit(0)).evaluate(r)),
            "d.jsonl:17: division by zero (in (.answer / 0))");
  EXPECT_EQ(errorOf(bin(Op::And, f("s"), lit(true)).evaluate(r)),
            "d.jsonl:17: '&&' expects a bool, found a string (in (.s && "
            "true))");
  EXPECT_EQ(errorOf(f("nope").evaluate(r)),
            "d.jsonl:17: record has no field 'nope' (fields: answer, s)");
  EXPECT_EQ(errorOf(f("answer").test(r)),
            "d.jsonl:17: the condition .answer gave a number, expected a "
            "bool");
  EXPECT_EQ(errorOf(RecordExpr::unary(Op::Len, f("answer")).evaluate(r)),
            "d.jsonl:17: len() expects a string, list or object, found a "
            "number (in len(.answer))");
}

TEST(RecordExpr, CanonicalText) {
  auto e = must(RecordExpr::match(f(".answer"), "^-?[0-9]+$/x")) &&
           bin(Op::Lt, RecordExpr::unary(Op::Len, f("question")), lit(200));
  EXPECT_EQ(e.str(), "((.answer =~ /^-?[0-9]+$\\/x/) && (len(.question) < "
                     "200))");
  std::vector<std::string> fields;
  e.collectFields(fields);
  EXPECT_EQ(fields, (std::vector<std::string>{"answer", "question"}));
}
