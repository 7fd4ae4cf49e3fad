//===- BpeTest.cpp - The BPE model on hand-made vocabularies --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Expected merges are worked out by hand from the BPE rule: repeatedly merge
// the adjacent pair with the lowest rank, leftmost first.
//
//===----------------------------------------------------------------------===//

#include "Bpe.h"

#include "gtest/gtest.h"

using namespace ftl::rt::tok;

namespace {

enum : int32_t { A, B, C, AB, BC, ABC, AC, UNK, XC3, XA9 };

llvm::StringMap<int32_t> vocab() {
  llvm::StringMap<int32_t> v;
  const char *names[] = {"a",   "b",  "c",     "ab",     "bc",
                         "abc", "ac", "<unk>", "<0xC3>", "<0xA9>"};
  for (int32_t i = 0; i < 10; ++i)
    v[names[i]] = i;
  return v;
}

// Ranks: (b, c) first, then (a, bc), then (a, b).
const std::array<int32_t, 3> kMerges[] = {{B, C, BC}, {A, BC, ABC}, {A, B, AB}};

std::vector<int32_t> run(const BpeModel &m, llvm::StringRef word) {
  std::vector<int32_t> out;
  m.tokenize(word, out);
  return out;
}

using Ids = std::vector<int32_t>;

TEST(Bpe, MergesByRankLeftmostFirst) {
  BpeModel m(vocab(), kMerges, BpeOptions{});
  EXPECT_EQ(run(m, "abc"), (Ids{ABC}));     // bc, then a+bc
  EXPECT_EQ(run(m, "abab"), (Ids{AB, AB})); // two (a, b) pairs
  EXPECT_EQ(run(m, "cab"), (Ids{C, AB}));
  EXPECT_EQ(run(m, "aab"), (Ids{A, AB})); // leftmost (a, a) is no merge
  EXPECT_EQ(run(m, "ac"), (Ids{A, C}));   // "ac" has no merge path
  EXPECT_TRUE(run(m, "").empty());
  // Cached results are the same.
  EXPECT_EQ(run(m, "abc"), (Ids{ABC}));
  EXPECT_EQ(run(m, "abab"), (Ids{AB, AB}));
}

TEST(Bpe, IgnoreMergesTakesWholeWords) {
  BpeOptions o;
  o.ignoreMerges = true;
  BpeModel m(vocab(), kMerges, o);
  EXPECT_EQ(run(m, "ac"), (Ids{AC}));
  EXPECT_EQ(run(m, "abab"), (Ids{AB, AB}));
}

TEST(Bpe, UnknownsAndByteFallback) {
  BpeOptions unk;
  unk.unkId = UNK;
  BpeModel noFuse(vocab(), kMerges, unk);
  // "x" and "é" are not in the vocabulary.
  EXPECT_EQ(run(noFuse, "axx"), (Ids{A, UNK, UNK}));
  unk.fuseUnk = true;
  BpeModel fuse(vocab(), kMerges, unk);
  EXPECT_EQ(run(fuse, "axxb"), (Ids{A, UNK, B}));
  EXPECT_EQ(run(fuse, "x\xC3\xA9x"), (Ids{UNK}));
  BpeOptions fallback = unk;
  fallback.byteFallback = true;
  BpeModel fb(vocab(), kMerges, fallback);
  // é (C3 A9) has byte tokens; x has not and stays unknown.
  EXPECT_EQ(run(fb, "a\xC3\xA9"), (Ids{A, XC3, XA9}));
  EXPECT_EQ(run(fb, "\xC3\xA9x"), (Ids{XC3, XA9, UNK}));
  // Without unk_token an unknown character is dropped, and its neighbours
  // can then merge.
  BpeModel none(vocab(), kMerges, BpeOptions{});
  EXPECT_EQ(run(none, "axb"), (Ids{AB}));
  EXPECT_EQ(run(none, "xxc"), (Ids{C}));
}

TEST(Bpe, ByteLevelModeUsesRawBytes) {
  llvm::StringMap<int32_t> v;
  for (int b = 0; b < 256; ++b)
    v[std::string(1, char(b))] = b;
  v["\xC3\xA9"] = 256;
  const std::array<int32_t, 3> merges[] = {{0xC3, 0xA9, 256}};
  BpeOptions o;
  o.byteLevel = true;
  BpeModel m(std::move(v), merges, o);
  EXPECT_EQ(run(m, "\xC3\xA9!"), (Ids{256, '!'}));
  EXPECT_EQ(run(m, "\xC3"), (Ids{0xC3}));
}

TEST(Bpe, MetaspaceCutsOnlyWhenNoTokenCrossesThem) {
  // "\xE2\x96\x81" is U+2581 (the SentencePiece space).
  auto make = [](bool crossing) {
    llvm::StringMap<int32_t> v;
    const char *names[] = {"\xE2\x96\x81",
                           "a",
                           "b",
                           "\xE2\x96\x81"
                           "a",
                           "\xE2\x96\x81"
                           "b",
                           "\xE2\x96\x81"
                           "a\xE2\x96\x81"
                           "b"};
    for (int32_t i = 0; i < (crossing ? 6 : 5); ++i)
      v[names[i]] = i;
    std::vector<std::array<int32_t, 3>> merges = {{0, 1, 3}, {0, 2, 4}};
    if (crossing)
      merges.push_back({3, 4, 5});
    return std::make_unique<BpeModel>(std::move(v), merges, BpeOptions{});
  };
  // A token spanning "a" + "\xE2\x96\x81" exists: the word stays whole.
  EXPECT_EQ(run(*make(true), "\xE2\x96\x81"
                             "a\xE2\x96\x81"
                             "b"),
            (Ids{5}));
  EXPECT_EQ(run(*make(false), "\xE2\x96\x81"
                              "a\xE2\x96\x81"
                              "b"),
            (Ids{3, 4}));
  EXPECT_EQ(run(*make(false), "a\xE2\x96\x81\xE2\x96\x81"
                              "b"),
            (Ids{1, 0, 4}));
}

TEST(Bpe, CacheIsBounded) {
  BpeModel m(vocab(), kMerges, BpeOptions{});
  // Far more distinct words than the cache holds.
  for (int i = 0; i < 300000; ++i) {
    std::string w;
    for (int k = i; k; k /= 3)
      w.push_back("abc"[k % 3]);
    run(m, w);
  }
  EXPECT_LE(m.cacheSize(), size_t(64 * 2048));
  EXPECT_GT(m.cacheSize(), 0u);
  // Words over the size limit are not cached.
  size_t before = m.cacheSize();
  run(m, std::string(BpeModel::kMaxCachedWord + 1, 'b'));
  EXPECT_EQ(m.cacheSize(), before);
}

} // namespace
