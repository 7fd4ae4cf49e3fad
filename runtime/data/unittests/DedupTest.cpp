//===- DedupTest.cpp - exact and MinHash-LSH deduplication ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/MinHash.h"
#include "ftl/Runtime/Rng.h"

#include <cmath>
#include <set>

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

DedupOptions minhash(llvm::StringRef field, unsigned ngram, double threshold,
                     bool words = true) {
  DedupOptions o;
  o.method = DedupOptions::Method::MinHash;
  o.field = field.str();
  o.ngram = ngram;
  o.threshold = threshold;
  o.shingle = words ? DedupOptions::Shingle::Word : DedupOptions::Shingle::Char;
  return o;
}

/// Random text of `n` words from a large vocabulary.
std::string randomText(Rng &rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i)
      s += ' ';
    s += "w" + std::to_string(rng.below(50000));
  }
  return s;
}

std::vector<std::string> splitWords(const std::string &s) {
  std::vector<std::string> out;
  llvm::SmallVector<llvm::StringRef, 64> parts;
  llvm::StringRef(s).split(parts, ' ', -1, false);
  for (auto p : parts)
    out.push_back(p.str());
  return out;
}

/// Exact Jaccard of word n-gram sets, computed independently of MinHasher.
double exactJaccard(const std::string &a, const std::string &b, unsigned n) {
  auto grams = [n](const std::string &s) {
    std::set<std::string> out;
    auto w = splitWords(s);
    if (w.size() <= n) {
      out.insert(s);
      return out;
    }
    for (size_t i = 0; i + n <= w.size(); ++i) {
      std::string g;
      for (size_t k = 0; k < n; ++k)
        g += (k ? " " : "") + w[i + k];
      out.insert(g);
    }
    return out;
  };
  auto A = grams(a), B = grams(b);
  size_t inter = 0;
  for (const auto &g : A)
    inter += B.count(g);
  return double(inter) / double(A.size() + B.size() - inter);
}

/// `text` with about `frac` of its words replaced.
std::string mutate(Rng &rng, const std::string &text, double frac) {
  auto w = splitWords(text);
  for (auto &x : w)
    if (rng.uniformDouble() < frac)
      x = "m" + std::to_string(rng.below(1000000));
  std::string out;
  for (size_t i = 0; i < w.size(); ++i)
    out += (i ? " " : "") + w[i];
  return out;
}

} // namespace

TEST(Dedup, ExactByFieldKeepsFirst) {
  std::vector<Record> rs;
  for (auto [q, id] : std::vector<std::pair<const char *, int>>{
           {"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}})
    rs.push_back(Record({Member{"q", Value(q)}, Member{"id", Value(id)}}));
  auto d = recordsDataset("m", rs);
  DataStats stats;
  DataContext ctx;
  ctx.stats = &stats;
  DedupOptions o;
  o.field = "q";
  auto out = readRecords(must(dedupDataset(d, o)), ctx);
  EXPECT_EQ(column(out, "id"), (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(stats.get("dedup: dropped"), 2);
  EXPECT_EQ(out[0].provenance().chainString(), "records > dedup");
}

TEST(Dedup, ExactWholeRecordIgnoresMemberOrderOnly) {
  std::vector<Record> rs;
  rs.push_back(Record({Member{"a", Value(1)}, Member{"b", Value("x")}}));
  rs.push_back(Record({Member{"b", Value("x")}, Member{"a", Value(1)}}));
  rs.push_back(Record({Member{"a", Value(1)}, Member{"b", Value("y")}}));
  rs.push_back(Record({Member{"a", Value("1")}, Member{"b", Value("x")}}));
  auto out = readRecords(must(dedupDataset(recordsDataset("m", rs), {})));
  EXPECT_EQ(out.size(), 3u);
  // A string field and a number with the same text are different values.
  DedupOptions o;
  o.field = "a";
  EXPECT_EQ(readRecords(must(dedupDataset(recordsDataset("m", rs), o))).size(),
            2u);
}

TEST(MinHash, BandsMinimiseTheDocumentedError) {
  // An independent evaluation of the documented objective (Simpson's rule,
  // finer grid) must not find a banding clearly better than the one chosen.
  auto objective = [](unsigned b, unsigned r, double t, double wfp,
                      double wfn) {
    auto P = [&](double s) { return 1 - std::pow(1 - std::pow(s, r), b); };
    const int n = 4000; // even
    double fp = 0, fn = 0;
    for (int i = 0; i <= n; ++i) {
      double s = double(i) / n;
      double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
      if (s < t)
        fp += w * P(s);
      else
        fn += w * (1 - P(s));
    }
    return (wfp * fp + wfn * fn) / (3.0 * n);
  };
  for (auto [wfp, wfn] : {std::pair{0.5, 0.5}, std::pair{0.05, 0.95}})
    for (unsigned perm : {16u, 64u, 128u, 256u})
      for (double t : {0.5, 0.7, 0.8, 0.9}) {
        LshBands got = chooseLshBands(perm, t, wfp, wfn);
        EXPECT_LE(got.bands * got.rows, perm);
        EXPECT_EQ(got.bands, perm / got.rows);
        double best = 1e9;
        for (unsigned r = 1; r <= perm; ++r)
          best = std::min(best, objective(perm / r, r, t, wfp, wfn));
        EXPECT_LE(objective(got.bands, got.rows, t, wfp, wfn), best + 2e-3)
            << perm << " " << t;
      }
  LshBands b = chooseLshBands(128, 0.8);
  // The S-curve's midpoint sits near the threshold.
  EXPECT_NEAR(std::pow(1.0 / b.bands, 1.0 / b.rows), 0.8, 0.12);
}

TEST(MinHash, EstimateTracksExactJaccard) {
  Rng rng(3);
  MinHasher h(128, 3, /*words=*/true, 42);
  double sumErr = 0;
  int pairs = 0;
  for (int i = 0; i < 200; ++i) {
    std::string a = randomText(rng, 60);
    std::string b = mutate(rng, a, rng.uniformDouble() * 0.5);
    double exact = exactJaccard(a, b, 3);
    std::vector<uint32_t> sa, sb;
    h.signature(a, sa);
    h.signature(b, sb);
    double est = MinHasher::estimate(sa, sb);
    // Binomial(128, J) standard error; 4.5 sigma per pair.
    double sd = std::sqrt(exact * (1 - exact) / 128.0);
    EXPECT_NEAR(est, exact, 4.5 * sd + 0.02) << a << " | " << b;
    sumErr += std::abs(est - exact);
    ++pairs;
  }
  EXPECT_LT(sumErr / pairs, 0.04);
}

TEST(MinHash, ShinglesAndNormalisation) {
  MinHasher h(16, 2, true, 1);
  std::vector<uint64_t> a, b;
  h.shingleHashes("The  quick\tBROWN fox", a);
  h.shingleHashes("the quick brown fox", b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 3u);
  h.shingleHashes("one", a);
  EXPECT_EQ(a.size(), 1u); // shorter than n: the whole text
  h.shingleHashes("   ", a);
  EXPECT_TRUE(a.empty());
  MinHasher c(16, 3, false, 1);
  c.shingleHashes("h\xC3\xA9llo", a); // 5 code points -> 3 trigrams
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(MinHasher::normalize("  A\n\nb C  "), "a b c");
}

TEST(Dedup, MinHashRemovesNearDuplicatesKeepsOthers) {
  Rng rng(11);
  std::vector<std::string> docs, kinds;
  std::vector<std::string> originals;
  for (int i = 0; i < 300; ++i) {
    originals.push_back(randomText(rng, 80));
    docs.push_back(originals.back());
    kinds.push_back("orig");
  }
  // Near duplicates of the first 100: one word changed or one appended
  // (exact Jaccard ~0.88 or ~0.99, above the 0.8 threshold).
  int planted = 0;
  for (int i = 0; i < 100; ++i) {
    auto w = splitWords(originals[i]);
    if (i % 2)
      w[rng.below(w.size())] = "changed";
    else
      w.push_back("extra");
    std::string d;
    for (size_t k = 0; k < w.size(); ++k)
      d += (k ? " " : "") + w[k];
    ASSERT_GT(exactJaccard(d, originals[i], 5), 0.85);
    docs.push_back(d);
    kinds.push_back("dup");
    ++planted;
  }
  // Moderately similar docs (Jaccard well below 0.8) must stay.
  int moderate = 0;
  for (int i = 100; i < 150; ++i) {
    std::string d = mutate(rng, originals[i], 0.15);
    if (exactJaccard(d, originals[i], 5) > 0.5)
      continue;
    docs.push_back(d);
    kinds.push_back("moderate");
    ++moderate;
  }
  ASSERT_GT(planted, 80);
  ASSERT_GT(moderate, 30);
  std::vector<Record> rs;
  for (size_t i = 0; i < docs.size(); ++i)
    rs.push_back(Record(
        {Member{"text", Value(docs[i])}, Member{"kind", Value(kinds[i])}}));
  auto d =
      must(dedupDataset(recordsDataset("m", rs), minhash(".text", 5, 0.8)));
  DataContext ctx;
  ctx.seed = 9;
  auto out = readRecords(d, ctx);
  int orig = 0, dup = 0, mod = 0;
  for (const Record &r : out) {
    llvm::StringRef k = r.get("kind")->getString();
    orig += k == "orig";
    dup += k == "dup";
    mod += k == "moderate";
  }
  EXPECT_EQ(orig, 300); // first occurrences all kept
  EXPECT_LE(dup, 2);    // (nearly) all planted duplicates removed
  EXPECT_EQ(mod, moderate);
  // Same seed, same output; the LSH is seeded from the context.
  EXPECT_EQ(column(readRecords(d, ctx), "text"), column(out, "text"));
}

TEST(Dedup, MinHashCharShinglesAndWithoutVerify) {
  auto d = textRecords({"abcdefghijklmnop", "abcdefghijklmnoq", "zyxwvutsrq",
                        "abcdefghijklmnop"});
  auto o = minhash("text", 3, 0.7, /*words=*/false);
  o.permutations = 256;
  auto out = column(readRecords(must(dedupDataset(d, o))), "text");
  EXPECT_EQ(out, (std::vector<std::string>{"abcdefghijklmnop", "zyxwvutsrq"}));
  o.verify = false;
  out = column(readRecords(must(dedupDataset(d, o))), "text");
  EXPECT_EQ(out, (std::vector<std::string>{"abcdefghijklmnop", "zyxwvutsrq"}));
}

TEST(Dedup, Errors) {
  auto d = textRecords({"a"});
  EXPECT_EQ(errorOf(dedupDataset(d, minhash("", 5, 0.8))),
            "dedup: minhash needs a text field, such as minhash(.question)");
  EXPECT_EQ(errorOf(dedupDataset(d, minhash("text", 0, 0.8))),
            "dedup: ngram must be at least 1, found 0");
  auto bad = minhash("text", 5, 0.8);
  bad.permutations = 0;
  EXPECT_EQ(errorOf(dedupDataset(d, bad)),
            "dedup: perm must be in 1..4096, found 0");
  EXPECT_EQ(errorOf(dedupDataset(d, minhash("text", 5, 1.5))),
            "dedup: threshold 1.5 is outside (0, 1], expected e.g. 0.8");
  auto numbersOnly = recordsDataset("m", {Record({Member{"text", Value(3)}})});
  EXPECT_EQ(errorOf(readAll(
                *must(dedupDataset(numbersOnly, minhash("text", 5, 0.8))), {})),
            "m#1: field 'text' is a number, expected a string");
}
