//===- ByteTokenizerTest.cpp - The byte tokenizer -------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Tokenizer.h"

#include "gtest/gtest.h"

using namespace ftl::rt;

namespace {

TEST(ByteTokenizer, EncodesBytes) {
  auto tok = makeByteTokenizer();
  EXPECT_EQ(tok->kind(), "bytes");
  EXPECT_EQ(tok->vocabSize(), 259);
  EXPECT_EQ(tok->encode("h\xC3\xA9"), (std::vector<int32_t>{104, 195, 169}));
  EXPECT_EQ(tok->encode("ab", true), (std::vector<int32_t>{256, 97, 98}));
  EXPECT_TRUE(tok->encode("").empty());
  EXPECT_EQ(tok->encode("<bos>").size(), 5u); // no special-token parsing
}

TEST(ByteTokenizer, Decodes) {
  auto tok = makeByteTokenizer();
  std::string text = "tab\there \xF0\x9F\x98\x80 \xE4\xB8\xAD";
  EXPECT_EQ(tok->decode(tok->encode(text)), text);
  EXPECT_EQ(tok->decode({256, 104, 105, 257, 258}), "<bos>hi<eos><pad>");
  EXPECT_EQ(tok->decode({256, 104, 105, 257, 258}, true), "hi");
  // A cut multi-byte sequence decodes to U+FFFD; unknown ids are dropped.
  EXPECT_EQ(tok->decode({0xE4, 0xB8, 'x', 999, -1}), "\xEF\xBF\xBDx");
}

TEST(ByteTokenizer, SpecialIds) {
  auto tok = makeByteTokenizer();
  EXPECT_EQ(tok->bosId(), 256);
  EXPECT_EQ(tok->eosId(), 257);
  EXPECT_EQ(tok->padId(), 258);
  EXPECT_EQ(tok->tokenId("<eos>"), 257);
  EXPECT_EQ(tok->tokenId("A"), 65);
  EXPECT_FALSE(tok->tokenId("AB"));
  EXPECT_TRUE(tok->isSpecial(258));
  EXPECT_FALSE(tok->isSpecial(65));
  EXPECT_EQ(tok->idToToken(256), "<bos>");
  EXPECT_EQ(tok->idToToken(65), "A");
  EXPECT_FALSE(tok->idToToken(259));
  EXPECT_FALSE(tok->fingerprint().empty());
}

TEST(ByteTokenizer, EncodeBatch) {
  auto tok = makeByteTokenizer();
  std::vector<std::string> texts;
  for (int i = 0; i < 100; ++i)
    texts.push_back(std::string(size_t(i), char('a' + i % 26)));
  std::vector<llvm::StringRef> refs(texts.begin(), texts.end());
  auto batch = tok->encodeBatch(refs, 4, true);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(batch[i], tok->encode(texts[i], true));
  EXPECT_TRUE(tok->encodeBatch({}, 2).empty());
}

} // namespace
