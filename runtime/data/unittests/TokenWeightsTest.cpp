//===- TokenWeightsTest.cpp - Key-token and diff weights
//-------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// METHODS.md's tests of TL-Training's key tokens and FAIT's diff weights:
// masks on hand-built pairs mark exactly the differing lines and tokens, the
// weights land on the tokens a BPE tokenizer made of the marked bytes, and
// with both diff coefficients 0 the weights are those of plain SFT.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/TokenWeights.h"

using namespace ftl::rt;
using namespace ftl::rt::test;

namespace {

Record record(std::vector<Member> fields) {
  Record r(std::move(fields));
  r.provenance().source = std::make_shared<const std::string>("w.jsonl");
  r.provenance().line = 2;
  return r;
}

std::vector<uint8_t> bytesIn(size_t size,
                             std::vector<std::pair<size_t, size_t>> ranges) {
  std::vector<uint8_t> mask(size, 0);
  for (auto [begin, end] : ranges)
    for (size_t i = begin; i < end; ++i)
      mask[i] = 1;
  return mask;
}

std::unique_ptr<Tokenizer> fixture(const char *name) {
  auto tok = loadHFTokenizer(std::string(FTL_SOURCE_DIR) +
                             "/test/fixtures/tokenizers/" + name);
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

TEST(TokenWeights, KeyBytesMarkEveryOccurrence) {
  llvm::StringRef text = "get_weather(city=Paris, city=Rome)";
  EXPECT_EQ(keyBytes(text, {"get_weather", "city="}),
            bytesIn(text.size(), {{0, 11}, {12, 17}, {24, 29}}));
  EXPECT_EQ(keyBytes(text, {"absent", ""}), bytesIn(text.size(), {}));
}

TEST(TokenWeights, ChangedLinesAreExactlyTheDifferingOnes) {
  llvm::StringRef right = "x = 1\ny = x + 2\nprint(y)\n";
  // Line 2 changed: bytes 6..15 with its newline.
  EXPECT_EQ(changedLineBytes(right, "x = 1\ny = x - 2\nprint(y)\n"),
            bytesIn(right.size(), {{6, 16}}));
  // A line the wrong version lacks is changed; one only it has marks
  // nothing in the response.
  EXPECT_EQ(changedLineBytes(right, "x = 1\nprint(y)\n"),
            bytesIn(right.size(), {{6, 16}}));
  EXPECT_EQ(changedLineBytes("a\nb", "a\nz\nb\n"), bytesIn(3, {}));
  EXPECT_EQ(changedLineBytes(right, right), bytesIn(right.size(), {}));
}

TEST(TokenWeights, ChangedTokensAreSubstitutionsAndInsertions) {
  EXPECT_EQ(changedTokens({1, 2, 3, 4, 5}, {1, 2, 9, 4, 5}),
            (std::vector<uint8_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(changedTokens({1, 2, 3}, {1, 3}), (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(changedTokens({1, 2}, {}), (std::vector<uint8_t>{1, 1}));
  EXPECT_EQ(changedTokens({7, 7, 7}, {7, 7, 7}),
            (std::vector<uint8_t>{0, 0, 0}));
}

TEST(TokenWeights, DiffWeightsOnOneTokenPerByte) {
  CharTokenizer tok;
  std::string right = "x = 1\ny = x + 2\nprint(y)\n";
  Record r = record({{"wrong", Value("x = 1\ny = x - 2\nprint(y)\n")}});
  TokenWeighting w;
  w.kind = TokenWeighting::Kind::Diff;
  w.field = "wrong";
  w.lines = 2;
  w.tokens = 3;
  auto got = responseTokenWeights(w, tok, r, right, tok.encode(right));
  ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
  std::vector<float> want(right.size(), 1.0f);
  for (size_t i = 6; i < 16; ++i)
    want[i] += 2;
  want[right.find('+')] += 3;
  EXPECT_EQ(*got, want);
}

TEST(TokenWeights, ZeroCoefficientsArePlainSFT) {
  CharTokenizer tok;
  TokenizeOptions plain;
  plain.mode = TokenizeOptions::Mode::PromptResponse;
  TokenizeOptions weighted = plain;
  weighted.weighting.kind = TokenWeighting::Kind::Diff;
  weighted.weighting.field = "wrong";
  weighted.weighting.lines = 0;
  weighted.weighting.tokens = 0;
  Record r = record({{"prompt", Value("fix:")},
                     {"response", Value("a = 2\nb = a\n")},
                     {"wrong", Value("a = 3\n")}});
  std::vector<TokenizedExample> a, b;
  ASSERT_FALSE(bool(tokenizeRecord(r, tok, plain, 0, a)));
  ASSERT_FALSE(bool(tokenizeRecord(r, tok, weighted, 0, b)));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].ids, b[0].ids);
  EXPECT_EQ(a[0].weights, b[0].weights);
  // The weights are part of the cache key.
  EXPECT_NE(plain.describe(), weighted.describe());
}

/// The key-weighted tokens cover `key` in the decoded text, and are the
/// fewest consecutive tokens that do (dropping the first or the last one
/// loses part of the key).
void expectMinimalCover(const Tokenizer &tok, llvm::StringRef response,
                        llvm::StringRef key) {
  Record r = record({{"keys", Value(key.str())}});
  TokenWeighting w;
  w.kind = TokenWeighting::Kind::KeyTokens;
  w.field = "keys";
  w.weight = 5;
  std::vector<int32_t> ids = tok.encode(response);
  auto got = responseTokenWeights(w, tok, r, response, ids);
  ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
  std::vector<int32_t> heavy;
  size_t first = ids.size(), last = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE((*got)[i] == 5.0f || (*got)[i] == 1.0f);
    if ((*got)[i] == 5.0f) {
      first = std::min(first, i);
      last = i;
      heavy.push_back(ids[i]);
    }
  }
  ASSERT_FALSE(heavy.empty()) << response.str();
  EXPECT_EQ(heavy.size(), last - first + 1) << "not consecutive";
  std::string covered = tok.decode(heavy);
  EXPECT_NE(covered.find(key.str()), std::string::npos)
      << "'" << covered << "' lacks '" << key.str() << "'";
  llvm::ArrayRef<int32_t> h(heavy);
  if (heavy.size() > 1) {
    EXPECT_EQ(tok.decode(h.drop_front()).find(key.str()), std::string::npos);
    EXPECT_EQ(tok.decode(h.drop_back()).find(key.str()), std::string::npos);
  }
}

TEST(TokenWeights, KeyTokensFollowByteLevelBPE) {
  auto tok = fixture("gpt2.json");
  ASSERT_TRUE(tok);
  expectMinimalCover(*tok, "get_weather(city=\"Paris\", unit=celsius)",
                     "Paris");
  expectMinimalCover(*tok, "The answer is 4211 because 4200 + 11 = 4211.",
                     "because 42");
  expectMinimalCover(*tok, "naïve café → résumé ✓", "café");
}

TEST(TokenWeights, KeyTokensFollowSentencePiece) {
  auto tok = fixture("sp_llama2.json");
  ASSERT_TRUE(tok);
  expectMinimalCover(*tok, "get the weather in Paris today", "Paris");
  expectMinimalCover(*tok, "one two three four", "two three");
}

TEST(TokenWeights, BadFieldsNameTheRecord) {
  CharTokenizer tok;
  TokenWeighting w;
  w.kind = TokenWeighting::Kind::KeyTokens;
  w.field = "keys";
  auto missing =
      responseTokenWeights(w, tok, record({}), "ab", tok.encode("ab"));
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("no field 'keys'"),
            std::string::npos);
  auto number = responseTokenWeights(w, tok, record({{"keys", Value(3.0)}}),
                                     "ab", tok.encode("ab"));
  ASSERT_FALSE(bool(number));
  std::string message = llvm::toString(number.takeError());
  EXPECT_NE(message.find("w.jsonl:2"), std::string::npos) << message;
  EXPECT_NE(message.find("must be a string or a list of strings"),
            std::string::npos)
      << message;
}

} // namespace
