//===- OperatorsTest.cpp - filter, map, template, take/skip, sample,
//                         shuffle, split -----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include <algorithm>
#include <cmath>
#include <set>

using namespace ftl::rt;
using namespace ftl::rt::test;
using Op = RecordExpr::Op;

namespace {

std::vector<std::string> numbers(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(std::to_string(i));
  return out;
}

/// A JSONL file of n records {"i": k} (random access source).
DatasetRef jsonlNumbers(const TempDir &dir, int n) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += "{\"i\":\"" + std::to_string(i) + "\"}\n";
  return must(jsonlDataset(dir.write("n.jsonl", text)));
}

DataContext seeded(uint64_t seed, DataStats *stats = nullptr) {
  DataContext c;
  c.seed = seed;
  c.stats = stats;
  return c;
}

} // namespace

TEST(Filter, KeepsMatchingAndCountsDrops) {
  auto d = textRecords({"12", "x", "-7", "3.5", "", "100"});
  auto pred = must(RecordExpr::match(RecordExpr::field("text"), "^-?[0-9]+$"));
  DataStats stats;
  auto rs = readRecords(filterDataset(d, pred), seeded(0, &stats));
  EXPECT_EQ(column(rs, "text"), (std::vector<std::string>{"12", "-7", "100"}));
  EXPECT_EQ(stats.get("filter: dropped"), 3);
  EXPECT_EQ(rs[1].provenance().chainString(), "records > filter");
  EXPECT_EQ(rs[1].provenance().where(), "mem#3");
}

TEST(Filter, ErrorsStopTheStream) {
  auto d = textRecords({"a"});
  auto rs = readAll(*filterDataset(d, RecordExpr::field("text")), {});
  EXPECT_EQ(errorOf(std::move(rs)),
            "mem#1: the condition .text gave a string, expected a bool");
}

TEST(Map, AssignsInOrder) {
  auto d = textRecords({"hello", "h\xC3\xA9"});
  auto m = mapDataset(
      d, {{"n", RecordExpr::unary(Op::Len, RecordExpr::field("text"))},
          {"n2", RecordExpr::binary(Op::Mul, RecordExpr::field("n"),
                                    RecordExpr::literal(2))}});
  auto rs = readRecords(m);
  EXPECT_EQ(column(rs, "n"), (std::vector<std::string>{"5", "2"}));
  EXPECT_EQ(column(rs, "n2"), (std::vector<std::string>{"10", "4"}));
  EXPECT_EQ(rs[0].provenance().chainString(), "records > map");
}

TEST(Template, RendersFieldsAndBraces) {
  auto d = must(jsonlBufferDataset(
      "t.jsonl", R"({"question":"1+1","answer":2,"tags":["a"],"ok":true})"
                 "\n"));
  auto t = must(templateDataset(
      d, "Q: {question}\nA: {answer} {{{tags}}} {.ok}", "text"));
  auto rs = readRecords(t);
  EXPECT_EQ(rs[0].get("text")->getString(), "Q: 1+1\nA: 2 {[\"a\"]} true");
  EXPECT_EQ(rs[0].provenance().chainString(), "jsonl > template");
  // The template output can feed an alias of the same name.
  JsonlOptions o;
  o.mapping.push_back(FieldAlias{"text", {"question"}});
  d = must(jsonlBufferDataset("t.jsonl",
                              R"({"question":"q"})"
                              "\n",
                              o));
  rs = readRecords(must(templateDataset(d, "<{question}>", "text")));
  EXPECT_EQ(rs[0].get("text")->getString(), "<q>");
}

TEST(Template, UnknownFieldAtConstructionOrPerRecord) {
  // Text sources have a known schema.
  auto text = textBufferDataset("c.txt", "hello\n");
  EXPECT_EQ(errorOf(templateDataset(text, "{text} {answer}", "out")),
            "template \"{text} {answer}\" uses field 'answer', which the "
            "data does not have (fields: text)");
  auto ok = must(templateDataset(text, "[{text}]", "out"));
  EXPECT_EQ(*ok->schema(), (std::vector<std::string>{"text", "out"}));
  // An explicit schema (e.g. from peekFieldNames).
  auto d = must(jsonlBufferDataset("x.jsonl", "{\"q\":1}\n{\"z\":1}\n"));
  EXPECT_EQ(
      errorOf(templateDataset(d, "{a}", "t", std::vector<std::string>{"q"})),
      "template \"{a}\" uses field 'a', which the data does not have "
      "(fields: q)");
  // Unknown schema: per record.
  auto t = must(templateDataset(d, "{q}", "t"));
  EXPECT_EQ(errorOf(readAll(*t, {})),
            "x.jsonl:2: record has no field 'q' (fields: z)");
  EXPECT_EQ(errorOf(templateDataset(d, "a {b", "t")),
            "template \"a {b\": unmatched '{' at offset 2 (write '{{' or "
            "'}}' for a literal brace)");
  EXPECT_EQ(errorOf(templateDataset(d, "a } b", "t")),
            "template \"a } b\": unmatched '}' at offset 2 (write '{{' or "
            "'}}' for a literal brace)");
  EXPECT_EQ(errorOf(templateDataset(d, "{}", "t")),
            "template \"{}\": empty field name in '{}' at offset 0 (write "
            "'{{' or '}}' for a literal brace)");
}

TEST(TakeSkip, ExactCounts) {
  auto d = textRecords(numbers(10));
  EXPECT_EQ(column(readRecords(takeDataset(d, 3)), "text"),
            (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(column(readRecords(skipDataset(d, 8)), "text"),
            (std::vector<std::string>{"8", "9"}));
  EXPECT_TRUE(readRecords(takeDataset(d, 0)).empty());
  EXPECT_EQ(readRecords(takeDataset(d, 100)).size(), 10u);
  EXPECT_TRUE(readRecords(skipDataset(d, 100)).empty());
  EXPECT_EQ(column(readRecords(takeDataset(skipDataset(d, 2), 2)), "text"),
            (std::vector<std::string>{"2", "3"}));
}

TEST(TakeSkip, TakeDoesNotReadPastN) {
  // The third line is malformed; take(2) never reaches it.
  auto d = must(jsonlBufferDataset("t.jsonl", "{\"a\":1}\n{\"a\":2}\n{oops\n"));
  EXPECT_EQ(readRecords(takeDataset(d, 2)).size(), 2u);
  EXPECT_EQ(errorOf(readAll(*takeDataset(d, 3), {})),
            "t.jsonl:3:2: expected a string key in an object, found 'o'");
}

TEST(Sample, FractionAndDeterminism) {
  auto d = textRecords(numbers(20000));
  auto s = must(sampleDataset(d, 0.25));
  auto a = column(readRecords(s, seeded(1)), "text");
  auto b = column(readRecords(s, seeded(1)), "text");
  auto c = column(readRecords(s, seeded(2)), "text");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Binomial(20000, 0.25): sd ~ 61; allow 5 sd.
  EXPECT_NEAR(static_cast<double>(a.size()), 5000.0, 310.0);
  EXPECT_TRUE(readRecords(must(sampleDataset(d, 0.0))).empty());
  EXPECT_EQ(readRecords(must(sampleDataset(d, 1.0))).size(), 20000u);
  EXPECT_EQ(errorOf(sampleDataset(d, 1.5)),
            "sample: fraction 1.5 is outside [0, 1] (write e.g. sample(0.1) "
            "or 10%)");
}

TEST(Shuffle, PermutationDeterministicFromSeed) {
  TempDir dir;
  auto src = jsonlNumbers(dir, 500);
  auto s = shuffleDataset(src);
  auto a = column(readRecords(s, seeded(7)), "i");
  auto b = column(readRecords(s, seeded(7)), "i");
  auto c = column(readRecords(s, seeded(8)), "i");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  auto expected = numbers(500);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(sorted, expected);
  EXPECT_NE(a, numbers(500));
  // Provenance survives: the line of "k" is k + 1.
  auto rs = readRecords(s, seeded(7));
  for (const Record &r : rs)
    EXPECT_EQ(std::to_string(r.provenance().line - 1),
              r.get("i")->getString().str());
  EXPECT_EQ(rs[0].provenance().chainString(), "jsonl > shuffle");
}

TEST(Shuffle, UniformPositions) {
  // Each of 4 items lands in each position ~1/4 of the time over seeds.
  auto d = textRecords(numbers(4));
  auto s = shuffleDataset(d);
  int counts[4][4] = {};
  const int trials = 4000;
  for (int seed = 0; seed < trials; ++seed) {
    auto order = column(readRecords(s, seeded(seed)), "text");
    for (int pos = 0; pos < 4; ++pos)
      ++counts[std::stoi(order[pos])][pos];
  }
  for (auto &row : counts)
    for (int c : row)
      EXPECT_NEAR(c, trials / 4.0, 5 * std::sqrt(trials * 0.25 * 0.75));
}

TEST(Shuffle, StreamingInputsAreMaterializedSameOrder) {
  // A filter over host records has random access through its index, a
  // chunk-like streaming input does not; both shuffle deterministically.
  auto d = filterDataset(textRecords(numbers(50)),
                         RecordExpr::binary(Op::Ne, RecordExpr::field("text"),
                                            RecordExpr::literal("3")));
  auto a = column(readRecords(shuffleDataset(d), seeded(3)), "text");
  EXPECT_EQ(a.size(), 49u);
  EXPECT_EQ(a, column(readRecords(shuffleDataset(d), seeded(3)), "text"));
  EXPECT_EQ(std::count(a.begin(), a.end(), "3"), 0);
}

TEST(Split, ExactCountsByCumulativeRounding) {
  for (int n : {0, 1, 5, 9, 10, 11, 101, 1000}) {
    auto d = textRecords(numbers(n));
    auto parts = must(splitDataset(d, {{"eval", 0.1}, {"test", 0.05}}));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].first, "eval");
    EXPECT_EQ(parts[2].first, "train");
    auto ctx = seeded(11);
    auto eval = column(readRecords(parts[0].second, ctx), "text");
    auto test = column(readRecords(parts[1].second, ctx), "text");
    auto train = column(readRecords(parts[2].second, ctx), "text");
    // Independent computation of the documented counts.
    auto roundHalfUp = [](double x) { return (int)std::floor(x + 0.5); };
    int e = roundHalfUp(n * 0.1);
    int t = roundHalfUp(n * 0.15) - e;
    EXPECT_EQ((int)eval.size(), e) << n;
    EXPECT_EQ((int)test.size(), t) << n;
    EXPECT_EQ((int)train.size(), n - e - t) << n;
    // Disjoint, covering, each in input order.
    std::set<std::string> all;
    for (auto *part : {&eval, &test, &train}) {
      std::vector<int> v;
      for (auto &s : *part) {
        all.insert(s);
        v.push_back(std::stoi(s));
      }
      EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    }
    EXPECT_EQ((int)all.size(), n);
  }
}

TEST(Split, StableFromSeedAndSameOverStreamingOrIndexedInput) {
  TempDir dir;
  auto src = jsonlNumbers(dir, 200);
  auto parts = must(splitDataset(src, {{"eval", 0.1}}));
  auto a = column(readRecords(parts[0].second, seeded(5)), "i");
  EXPECT_EQ(a, column(readRecords(parts[0].second, seeded(5)), "i"));
  EXPECT_NE(a, column(readRecords(parts[0].second, seeded(6)), "i"));
  EXPECT_EQ(
      readRecords(parts[0].second, seeded(5))[0].provenance().chainString(),
      "jsonl > split:eval");
  auto idx = must(parts[0].second->openIndexed(seeded(5)));
  ASSERT_TRUE(idx);
  EXPECT_EQ(idx->size(), 20u);
}

TEST(Split, StreamingInputIsCountedFirst) {
  // A mixture has no random access: split counts it in a quiet pass.
  auto mix = must(mixtureDataset({{"only", textRecords(numbers(100)), 1.0}},
                                 MixtureOptions()));
  ASSERT_FALSE(must(mix->openIndexed({})));
  auto parts = must(splitDataset(mix, {{"eval", 0.1}}));
  DataStats stats;
  auto eval = column(readRecords(parts[0].second, seeded(3, &stats)), "text");
  auto train = column(readRecords(parts[1].second, seeded(3)), "text");
  EXPECT_EQ(eval.size(), 10u);
  EXPECT_EQ(train.size(), 90u);
  std::set<std::string> all(eval.begin(), eval.end());
  all.insert(train.begin(), train.end());
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(eval, column(readRecords(parts[0].second, seeded(3)), "text"));
  // The counting pass is not counted: 100 records read once.
  EXPECT_EQ(stats.get("records read"), 100);
}

TEST(Split, Errors) {
  auto d = textRecords(numbers(3));
  EXPECT_EQ(errorOf(splitDataset(d, {{"eval", 0.6}, {"test", 0.5}})),
            "split: the parts' fractions sum to 1.1, expected at most 1 "
            "(100%)");
  EXPECT_EQ(errorOf(splitDataset(d, {{"eval", -0.1}})),
            "split: part 'eval' has fraction -0.1, expected a value in "
            "[0, 1] such as 10%");
  EXPECT_EQ(errorOf(splitDataset(d, {{"eval", 0.1}, {"eval", 0.1}})),
            "split: part 'eval' is named twice");
  EXPECT_EQ(errorOf(splitDataset(d, {{"train", 0.1}})),
            "split: part 'train' clashes with the name of the rest");
  EXPECT_EQ(errorOf(splitDataset(d, {})),
            "split: expected at least one part, such as eval: 10%");
  EXPECT_EQ(errorOf(splitDataset(d, {{"", 0.1}})),
            "split: a part has an empty name");
  EXPECT_EQ(errorOf(splitDataset(d, {{"eval", 0.1}}, "")),
            "split: the name of the rest is empty");
  std::vector<SplitPart> many;
  for (int i = 0; i < 201; ++i)
    many.push_back({"p" + std::to_string(i), 0.001});
  EXPECT_EQ(errorOf(splitDataset(d, many)),
            "split: at most 200 parts are supported, found 201");
}

TEST(Describe, CanonicalChain) {
  TempDir dir;
  JsonlOptions o;
  o.mapping.push_back(FieldAlias{"prompt", {"question"}});
  o.onError = OnError::Skip;
  auto src = must(jsonlDataset("data/arith.jsonl", o));
  auto pred = must(RecordExpr::match(RecordExpr::field("answer"), "^[0-9]+$"));
  auto d = shuffleDataset(takeDataset(filterDataset(src, pred), 10));
  EXPECT_EQ(d->describe(),
            "jsonl(\"data/arith.jsonl\", prompt: .question, on_error: skip) "
            "|> filter((.answer =~ /^[0-9]+$/)) |> take(10) |> shuffle()");
  EXPECT_EQ(d->describe(/*forKey=*/true),
            "jsonl(#file, prompt: .question, on_error: skip) |> "
            "filter((.answer =~ /^[0-9]+$/)) |> take(10) |> shuffle()");
  std::vector<std::string> files;
  d->sourceFiles(files);
  EXPECT_EQ(files, std::vector<std::string>{"data/arith.jsonl"});
}
