//===- MixtureTest.cpp - mixture and chunk --------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include <cmath>
#include <map>
#include <set>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

/// `n` records {text: "<name><i>" padded to `len` chars}.
DatasetRef source(llvm::StringRef name, int n, int len = 4) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) {
    std::string s = name.str() + std::to_string(i);
    s.resize(std::max<size_t>(s.size(), len), '.');
    v.push_back(s);
  }
  return textRecords(v);
}

std::map<std::string, int64_t> tally(const std::vector<Record> &rs,
                                     bool tokens) {
  std::map<std::string, int64_t> out;
  for (const Record &r : rs) {
    std::string name = r.provenance().chainString();
    name = name.substr(name.find('[') + 1);
    name.pop_back();
    out[name] += tokens ? r.get("text")->getString().size() + 1 : 1;
  }
  return out;
}

} // namespace

TEST(Mixture, ProportionsByExamples) {
  auto mix = must(
      mixtureDataset({{"code", source("c", 10000), 0.6},
                      {"math", source("m", 10000), 0.3},
                      {"general", source("g", 10000), 0.1}},
                     MixtureOptions{MixtureOptions::By::Examples, 0, 5000}));
  auto rs = readRecords(mix);
  ASSERT_EQ(rs.size(), 5000u);
  auto t = tally(rs, false);
  // Deficit scheduling keeps every prefix within one example of the target.
  EXPECT_NEAR(t["code"], 3000, 1);
  EXPECT_NEAR(t["math"], 1500, 1);
  EXPECT_NEAR(t["general"], 500, 1);
  // Within each component the order is the component's own.
  std::vector<std::string> codes;
  for (const Record &r : rs)
    if (r.get("text")->getString().starts_with("c"))
      codes.push_back(r.get("text")->getString().str());
  EXPECT_EQ(codes[0], "c0..");
  EXPECT_EQ(codes[1], "c1..");
  EXPECT_EQ(rs[0].provenance().chainString().substr(0, 17),
            "records > mixture");
}

TEST(Mixture, ProportionsByTokensAndCaps) {
  CharTokenizer tok;
  MixtureOptions o;
  o.by = MixtureOptions::By::Tokens;
  o.total = 20000;
  // Counted as text-mode tokens: the text and EOS, no BOS.
  o.countAs.bos = TokenizeOptions::Special::No;
  DataContext ctx;
  ctx.tokenizer = &tok;
  // Long records in "a", short ones in "b": equal token shares means many
  // more "b" examples.
  auto mix = must(mixtureDataset(
      {{"a", source("a", 5000, 39), 1.0}, {"b", source("b", 5000, 9), 1.0}},
      o));
  auto rs = readRecords(mix, ctx);
  auto t = tally(rs, /*tokens=*/true);
  EXPECT_LE(t["a"] + t["b"], 20000);
  EXPECT_NEAR(double(t["a"]) / (t["a"] + t["b"]), 0.5, 0.01);
  // Cap: "b" may give at most 3000 tokens; the rest comes from "a".
  o.cap = 3000;
  mix = must(mixtureDataset(
      {{"a", source("a", 5000, 39), 1.0}, {"b", source("b", 5000, 9), 1.0}},
      o));
  DataStats stats;
  ctx.stats = &stats;
  rs = readRecords(mix, ctx);
  t = tally(rs, true);
  EXPECT_LE(t["b"], 3000);
  EXPECT_GT(t["b"], 3000 - 10);
  EXPECT_LE(t["a"], 3000);
  EXPECT_EQ(stats.get("mixture: a capped") + stats.get("mixture: b capped"), 2);
  EXPECT_EQ(stats.get("mixture: b tokens"), t["b"]);
}

TEST(Mixture, ExhaustedComponentsLeaveTheRestContinue) {
  auto mix = must(mixtureDataset(
      {{"x", source("x", 10), 0.5}, {"y", source("y", 100), 0.5}}, {}));
  auto t = tally(readRecords(mix), false);
  EXPECT_EQ(t["x"], 10);
  EXPECT_EQ(t["y"], 100);
}

TEST(Mixture, ProportionalToCappedSizes) {
  MixtureOptions o;
  o.proportional = true;
  o.cap = 400;
  auto mix = must(mixtureDataset({{"big", source("b", 2000), 0},
                                  {"mid", source("m", 300), 0},
                                  {"small", source("s", 100), 0}},
                                 o));
  auto rs = readRecords(mix);
  auto t = tally(rs, false);
  // Weights min(n, cap) = 400, 300, 100; the cap stops "big" at 400.
  EXPECT_EQ(t["big"], 400);
  EXPECT_EQ(t["mid"], 300);
  EXPECT_EQ(t["small"], 100);
  // Rates follow the weights: after the first 200 records, 100/75/25.
  std::vector<Record> head(rs.begin(), rs.begin() + 200);
  auto h = tally(head, false);
  EXPECT_NEAR(h["big"], 100, 1);
  EXPECT_NEAR(h["mid"], 75, 1);
  EXPECT_NEAR(h["small"], 25, 1);
}

TEST(Mixture, DeterministicTieBreakFromSeed) {
  auto mix = must(mixtureDataset({{"p", source("p", 50), 1},
                                  {"q", source("q", 50), 1},
                                  {"r", source("r", 50), 1}},
                                 {}));
  DataContext a, b;
  a.seed = 1;
  b.seed = 1;
  EXPECT_EQ(column(readRecords(mix, a), "text"),
            column(readRecords(mix, b), "text"));
  // Some seed changes which component goes first.
  std::set<std::string> firsts;
  for (uint64_t s = 0; s < 20; ++s) {
    DataContext c;
    c.seed = s;
    firsts.insert(column(readRecords(mix, c), "text")[0].substr(0, 1));
  }
  EXPECT_GT(firsts.size(), 1u);
}

TEST(Mixture, Errors) {
  EXPECT_EQ(errorOf(mixtureDataset({}, {})),
            "mixture: expected at least one named dataset, such as "
            "mixture(code: 0.6, math: 0.4)");
  EXPECT_EQ(errorOf(mixtureDataset(
                {{"a", source("a", 1), 1}, {"a", source("a", 1), 1}}, {})),
            "mixture: component 'a' is named twice");
  EXPECT_EQ(errorOf(mixtureDataset({{"a", source("a", 1), -1}}, {})),
            "mixture: component 'a' has weight -1, expected a positive "
            "number");
  EXPECT_EQ(errorOf(mixtureDataset({{"", source("a", 1), 1}}, {})),
            "mixture: a component has an empty name");
  EXPECT_EQ(errorOf(mixtureDataset({{"a", nullptr, 1}}, {})),
            "mixture: component 'a' has no data");
  MixtureOptions neg;
  neg.cap = -1;
  EXPECT_EQ(errorOf(mixtureDataset({{"a", source("a", 1), 1}}, neg)),
            "mixture: cap and total must be >= 0 (0 = no limit)");
  MixtureOptions o;
  o.by = MixtureOptions::By::Tokens;
  auto mix = must(mixtureDataset({{"a", source("a", 1), 1}}, o));
  EXPECT_EQ(errorOf(mix->open({})),
            "mixture(by: tokens) needs the pipeline's tokenizer, but none "
            "was given");
}

TEST(Chunk, AcrossRecordsWithEos) {
  CharTokenizer tok;
  DataContext ctx;
  ctx.tokenizer = &tok;
  auto d = must(chunkDataset(textBufferDataset("c.txt", "abcde\nfg\nhijklmn\n"),
                             ChunkOptions{4}));
  auto rs = readRecords(d, ctx);
  // Stream: a b c d e <eos> f g <eos> h i j k l m n  (16 tokens)
  std::vector<std::vector<int32_t>> expected = {charIds("abcd"),
                                                {3 + 'e', 2, 3 + 'f', 3 + 'g'},
                                                {2, 3 + 'h', 3 + 'i', 3 + 'j'},
                                                charIds("klmn")};
  ASSERT_EQ(rs.size(), expected.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    std::vector<int32_t> ids;
    for (const Value &v : rs[i].get("input_ids")->getList())
      ids.push_back(v.getInt());
    EXPECT_EQ(ids, expected[i]) << i;
    EXPECT_EQ(rs[i].provenance().index, (int64_t)i);
  }
  EXPECT_EQ(rs[0].get("text")->getString(), "abcd");
  // Provenance: the line holding the chunk's first token; the index is
  // the chunk's.
  EXPECT_EQ(rs[1].provenance().where(), "c.txt:1");
  EXPECT_EQ(rs[2].provenance().where(), "c.txt:2"); // starts with its EOS
  EXPECT_EQ(rs[3].provenance().where(), "c.txt:3");
  EXPECT_EQ(rs[3].provenance().chainString(), "text > chunk");
}

TEST(Chunk, PerRecordAndDropRemainder) {
  CharTokenizer tok;
  DataContext ctx;
  ctx.tokenizer = &tok;
  ChunkOptions o{3};
  o.acrossRecords = false;
  auto d = must(chunkDataset(textRecords({"abcde", "fg"}), o));
  EXPECT_EQ(column(readRecords(d, ctx), "text"),
            (std::vector<std::string>{"abc", "de", "fg"}));
  o.dropRemainder = true;
  d = must(chunkDataset(textRecords({"abcde", "fg", "xyz"}), o));
  EXPECT_EQ(column(readRecords(d, ctx), "text"),
            (std::vector<std::string>{"abc", "xyz"}));
  ChunkOptions noField{2};
  noField.field = "";
  EXPECT_EQ(errorOf(chunkDataset(textRecords({"a"}), noField)),
            "chunk: the field name is empty");
  EXPECT_EQ(errorOf(chunkDataset(textRecords({"a"}), ChunkOptions{0})),
            "chunk: the chunk size must be a positive number of tokens, "
            "found 0");
  EXPECT_EQ(
      errorOf(
          must(chunkDataset(textRecords({"a"}), ChunkOptions{2}))->open({})),
      "chunk(2) needs the pipeline's tokenizer, but none was given");
}
