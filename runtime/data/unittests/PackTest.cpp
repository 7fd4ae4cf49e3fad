//===- PackTest.cpp - pack and batch --------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Runtime/Rng.h"

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

/// Example `index` of `n` tokens: ids 1000*index + i, weights i % 3 != 0.
TokenizedExample example(int64_t index, int n) {
  TokenizedExample ex;
  ex.exampleIndex = index;
  for (int i = 0; i < n; ++i) {
    ex.ids.push_back(1000 * index + i);
    ex.weights.push_back(i % 3 != 0 ? 1.0f : 0.0f);
  }
  return ex;
}

std::vector<PackedRow> pack(std::vector<TokenizedExample> exs, int64_t seqLen,
                            DataStats *stats = nullptr) {
  PackOptions o;
  o.seqLen = seqLen;
  o.padId = 9;
  auto rows =
      must(packExamples(examplesStream(std::move(exs)), o, nullptr, stats));
  std::vector<PackedRow> out;
  PackedRow r;
  while (must(rows->next(r)))
    out.push_back(r);
  return out;
}

std::vector<Batch> batches(std::vector<TokenizedExample> exs, BatchOptions o,
                           DataStats *stats = nullptr) {
  auto s =
      must(batchExamples(examplesStream(std::move(exs)), o, nullptr, stats));
  std::vector<Batch> out;
  Batch b;
  while (must(s->next(b)))
    out.push_back(b);
  return out;
}

} // namespace

TEST(Pack, HandWorkedExample) {
  // Lengths 3, 2, 4, 7 into rows of 5: [0 0 0 1 1] [2 2 2 2 pad]
  // [3 3 3 3 3] [3 3 pad pad pad] (example 3 split 5 + 2).
  DataStats stats;
  auto rows = pack({example(0, 3), example(1, 2), example(2, 4), example(3, 7)},
                   5, &stats);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].ids, (std::vector<int32_t>{0, 1, 2, 1000, 1001}));
  EXPECT_EQ(rows[0].segmentIds, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(rows[0].positions, (std::vector<int32_t>{0, 1, 2, 0, 1}));
  EXPECT_EQ(rows[0].weights, (std::vector<float>{0, 1, 1, 0, 1}));
  EXPECT_EQ(rows[1].ids, (std::vector<int32_t>{2000, 2001, 2002, 2003, 9}));
  EXPECT_EQ(rows[1].segmentIds, (std::vector<int32_t>{0, 0, 0, 0, -1}));
  EXPECT_EQ(rows[1].weights, (std::vector<float>{0, 1, 1, 0, 0}));
  EXPECT_EQ(rows[2].ids, (std::vector<int32_t>{3000, 3001, 3002, 3003, 3004}));
  EXPECT_EQ(rows[3].ids, (std::vector<int32_t>{3005, 3006, 9, 9, 9}));
  // A continuation piece starts its own segment: weight 0 (token 5 of
  // example 3 had weight 1), position 0.
  EXPECT_EQ(rows[3].weights, (std::vector<float>{0, 0, 0, 0, 0}));
  EXPECT_EQ(rows[2].weights, (std::vector<float>{0, 1, 1, 0, 1}));
  EXPECT_EQ(rows[3].positions, (std::vector<int32_t>{0, 1, 0, 0, 0}));
  ASSERT_EQ(rows[3].segments.size(), 1u);
  EXPECT_EQ(rows[3].segments[0].exampleIndex, 3);
  EXPECT_EQ(rows[3].segments[0].piece, 1);
  EXPECT_EQ(rows[3].segments[0].length, 2);
  EXPECT_EQ(stats.get("pack: rows"), 4);
  EXPECT_EQ(stats.get("pack: pad tokens"), 4);
  EXPECT_EQ(stats.get("pack: split examples"), 1);
}

TEST(Pack, RandomExamplesAgainstReference) {
  Rng rng(17);
  for (int trial = 0; trial < 20; ++trial) {
    int64_t seqLen = 1 + rng.below(64);
    std::vector<TokenizedExample> exs;
    for (int i = 0; i < 200; ++i)
      exs.push_back(example(i, rng.below(3 * seqLen)));
    auto rows = pack(exs, seqLen);
    // Reference: greedy rows from the piece lengths alone.
    std::vector<std::vector<std::pair<int64_t, int>>> ref(1);
    int64_t used = 0;
    for (const auto &ex : exs)
      for (int64_t start = 0; start < (int64_t)ex.ids.size(); start += seqLen) {
        int64_t len = std::min<int64_t>(seqLen, ex.ids.size() - start);
        if (used + len > seqLen) {
          ref.emplace_back();
          used = 0;
        }
        ref.back().push_back({ex.exampleIndex, (int)(start / seqLen)});
        used += len;
      }
    if (ref.back().empty())
      ref.pop_back();
    ASSERT_EQ(rows.size(), ref.size()) << trial;
    std::vector<std::vector<int32_t>> rebuilt(exs.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      const PackedRow &row = rows[r];
      ASSERT_EQ((int64_t)row.ids.size(), seqLen);
      ASSERT_EQ(row.segments.size(), ref[r].size());
      int32_t end = 0;
      for (size_t s = 0; s < row.segments.size(); ++s) {
        const PackedSegment &seg = row.segments[s];
        EXPECT_EQ(seg.exampleIndex, ref[r][s].first);
        EXPECT_EQ(seg.piece, ref[r][s].second);
        EXPECT_EQ(seg.start, end);
        end = seg.start + seg.length;
        const TokenizedExample &ex = exs[seg.exampleIndex];
        for (int32_t i = 0; i < seg.length; ++i) {
          size_t at = seg.start + i;
          size_t orig = seg.piece * seqLen + i;
          EXPECT_EQ(row.segmentIds[at], (int32_t)s);
          EXPECT_EQ(row.positions[at], i);
          EXPECT_EQ(row.weights[at], i == 0 ? 0.0f : ex.weights[orig]);
          rebuilt[seg.exampleIndex].push_back(row.ids[at]);
        }
      }
      for (int64_t at = end; at < seqLen; ++at) {
        EXPECT_EQ(row.segmentIds[at], -1);
        EXPECT_EQ(row.weights[at], 0.0f);
        EXPECT_EQ(row.ids[at], 9);
      }
    }
    for (size_t i = 0; i < exs.size(); ++i)
      EXPECT_EQ(rebuilt[i], exs[i].ids);
  }
}

TEST(Pack, Errors) {
  TokenizedExample chosen = example(0, 3);
  chosen.part = TokenizedExample::Part::Chosen;
  PackOptions o;
  o.seqLen = 8;
  auto rows = must(packExamples(examplesStream({chosen}), o));
  PackedRow r;
  EXPECT_EQ(errorOf(rows->next(r)),
            "pack: record is half of a preference pair; pairs cannot be "
            "packed (use batch)");
  o.seqLen = 0;
  EXPECT_EQ(errorOf(packExamples(examplesStream({}), o)),
            "pack: seq_len must be a positive number of tokens, found 0");
  o.seqLen = int64_t(1) << 40;
  EXPECT_EQ(errorOf(packExamples(examplesStream({}), o)),
            "pack: seq_len 1099511627776 is too large");
  TokenizedExample odd = example(4, 3);
  odd.weights.pop_back();
  o.seqLen = 8;
  rows = must(packExamples(examplesStream({odd}), o));
  EXPECT_EQ(errorOf(rows->next(r)), "pack: record has 3 ids but 2 weights");
}

TEST(Pack, DefaultPadId) {
  CharTokenizer tok;
  EXPECT_EQ(defaultPadId(&tok), 0);
  tok.hasPad = false;
  EXPECT_EQ(defaultPadId(&tok), 2);
  tok.hasEos = false;
  EXPECT_EQ(defaultPadId(&tok), 0);
  EXPECT_EQ(defaultPadId(makeByteTokenizer().get()), 258);
}

TEST(Batch, PadToLongestOrSeqLen) {
  BatchOptions o;
  o.batchSize = 2;
  o.padId = 7;
  auto bs = batches({example(0, 3), example(1, 5), example(2, 2)}, o);
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(bs[0].rows, 2);
  EXPECT_EQ(bs[0].seqLen, 5);
  EXPECT_EQ(bs[0].ids, (std::vector<int32_t>{0, 1, 2, 7, 7, 1000, 1001, 1002,
                                             1003, 1004}));
  EXPECT_EQ(bs[0].segmentIds,
            (std::vector<int32_t>{0, 0, 0, -1, -1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(bs[0].positions,
            (std::vector<int32_t>{0, 1, 2, 0, 0, 0, 1, 2, 3, 4}));
  EXPECT_EQ(bs[0].weights, (std::vector<float>{0, 1, 1, 0, 0, 0, 1, 1, 0, 1}));
  EXPECT_EQ(bs[0].lengths, (std::vector<int32_t>{3, 5}));
  EXPECT_EQ(bs[1].rows, 1);
  EXPECT_EQ(bs[1].seqLen, 2);
  o.pad = BatchOptions::Pad::SeqLen;
  o.seqLen = 4;
  DataStats stats;
  bs = batches({example(0, 3), example(1, 5)}, o, &stats);
  EXPECT_EQ(bs[0].seqLen, 4);
  EXPECT_EQ(bs[0].ids,
            (std::vector<int32_t>{0, 1, 2, 7, 1000, 1001, 1002, 1003}));
  EXPECT_EQ(stats.get("batch: truncated"), 1);
  o.dropLast = true;
  o.pad = BatchOptions::Pad::Longest;
  EXPECT_EQ(batches({example(0, 3), example(1, 5), example(2, 2)}, o).size(),
            1u);
}

TEST(Batch, PreferencePairsStayTogether) {
  auto pair = [](int64_t i) {
    TokenizedExample c = example(i, 2), r = example(i, 3);
    c.part = TokenizedExample::Part::Chosen;
    r.part = TokenizedExample::Part::Rejected;
    return std::vector<TokenizedExample>{c, r};
  };
  std::vector<TokenizedExample> exs;
  for (int i = 0; i < 3; ++i)
    for (auto &e : pair(i))
      exs.push_back(e);
  BatchOptions o;
  o.batchSize = 2;
  auto bs = batches(exs, o);
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(bs[0].rows, 4);
  EXPECT_EQ(bs[0].exampleIndices, (std::vector<int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(bs[0].parts[0], TokenizedExample::Part::Chosen);
  EXPECT_EQ(bs[0].parts[1], TokenizedExample::Part::Rejected);
  EXPECT_EQ(bs[1].rows, 2);
  // A chosen half without its rejected one is an error.
  auto s = must(batchExamples(examplesStream({pair(0)[0]}), o));
  Batch b;
  EXPECT_EQ(errorOf(s->next(b)),
            "batch: record is a chosen response not followed by its rejected "
            "one");
  EXPECT_EQ(errorOf(batchExamples(examplesStream({}), BatchOptions{0})),
            "batch: the batch size must be positive, found 0");
  BatchOptions pad;
  pad.pad = BatchOptions::Pad::SeqLen;
  EXPECT_EQ(errorOf(batchExamples(examplesStream({}), pad)),
            "batch: padding to seq_len needs a seq_len");
  pad.seqLen = -3;
  EXPECT_EQ(errorOf(batchExamples(examplesStream({}), pad)),
            "batch: seq_len must be in 0..2^31-1 (0 = no limit), found -3");
  s = must(batchExamples(examplesStream({pair(0)[1]}), o));
  EXPECT_EQ(errorOf(s->next(b)),
            "batch: record is a rejected response without its chosen one");
}

TEST(Batch, StackRows) {
  auto rows = pack({example(0, 3), example(1, 4)}, 4);
  Batch b = stackRows(rows);
  EXPECT_EQ(b.rows, 2);
  EXPECT_EQ(b.seqLen, 4);
  EXPECT_EQ(b.ids.size(), 8u);
  EXPECT_EQ(b.lengths, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(b.exampleIndices, (std::vector<int64_t>{0, 1}));
}
