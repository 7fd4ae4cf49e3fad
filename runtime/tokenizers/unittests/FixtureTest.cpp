//===- FixtureTest.cpp - Tokenizers against Hugging Face fixtures ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Every fixture string is encoded with every fixture tokenizer and compared
// with the ids Hugging Face `tokenizers` 0.20.3 gave for it
// (scripts/fixtures/make_tokenizers.py); decoding is compared with the
// library's decode of the same ids.
//
//===----------------------------------------------------------------------===//

#include "FixtureUtil.h"

#include "ftl/Runtime/Rng.h"
#include "ftl/Tokenizers/Tokenizer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include "Unicode.h"

#include <iostream>

using namespace ftl::rt;
using namespace ftl::rt::testing;
namespace json = llvm::json;

namespace {

std::string printable(llvm::StringRef s) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << '"';
  os.write_escaped(s, /*UseHexEscapes=*/true);
  os << '"';
  return out;
}

std::string idList(const std::vector<int32_t> &ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i)
    s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

class FixtureTest : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    auto loaded =
        loadHFTokenizer(fixturePath(std::string(GetParam()) + ".json"));
    ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
    tok = std::move(*loaded);
    std::vector<std::string> all;
    for (const json::Value &row : readJsonl("strings.jsonl"))
      all.push_back(row.getAsObject()->getString("text")->str());
    ASSERT_GE(all.size(), 2000u);
    rows = readJsonl(std::string(GetParam()) + ".ids.jsonl");
    // Rows of pipeline variants name their string ("i"); the others follow
    // strings.jsonl line by line.
    for (size_t r = 0; r < rows.size(); ++r) {
      std::optional<int64_t> i = rows[r].getAsObject()->getInteger("i");
      size_t index = i ? size_t(*i) : r;
      ASSERT_LT(index, all.size());
      texts.push_back(all[index]);
    }
    ASSERT_GE(texts.size(), all.size() / 3);
  }
  std::unique_ptr<Tokenizer> tok;
  std::vector<std::string> texts;
  std::vector<json::Value> rows;
};

TEST_P(FixtureTest, IdsMatchLibrary) {
  size_t same = 0, withSpecial = 0, sameSpecial = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const json::Object &row = *rows[i].getAsObject();
    std::vector<int32_t> want = idsOf(row.get("ids"));
    std::vector<int32_t> got = tok->encode(texts[i]);
    if (got == want)
      ++same;
    else
      ADD_FAILURE() << GetParam() << " string " << i << " "
                    << printable(texts[i]) << "\n  want " << idList(want)
                    << "\n  got  " << idList(got);
    if (const json::Value *sp = row.get("special")) {
      ++withSpecial;
      std::vector<int32_t> wantSp = idsOf(sp);
      std::vector<int32_t> gotSp = tok->encode(texts[i], /*addSpecial=*/true);
      if (gotSp == wantSp)
        ++sameSpecial;
      else
        ADD_FAILURE() << GetParam() << " string " << i
                      << " with special tokens\n  want " << idList(wantSp)
                      << "\n  got  " << idList(gotSp);
    }
  }
  std::cout << "[ fixture ] " << GetParam() << ": " << same << "/"
            << texts.size() << " strings give identical ids; " << sameSpecial
            << "/" << withSpecial << " with special tokens\n";
  EXPECT_EQ(same, texts.size());
}

TEST_P(FixtureTest, DecodeMatchesLibrary) {
  size_t same = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const json::Object &row = *rows[i].getAsObject();
    std::vector<int32_t> ids = idsOf(row.get("ids"));
    std::string want = row.getString("decoded").value_or(texts[i]).str();
    std::string wantSkip = row.getString("decoded_skip").value_or(want).str();
    std::string got = tok->decode(ids), gotSkip = tok->decode(ids, true);
    EXPECT_EQ(got, want) << GetParam() << " string " << i << " "
                         << printable(texts[i]);
    EXPECT_EQ(gotSkip, wantSkip)
        << GetParam() << " string " << i << " (skip special)";
    same += got == want && gotSkip == wantSkip;
  }
  std::cout << "[ fixture ] " << GetParam() << ": " << same << "/"
            << texts.size() << " decodes identical\n";
}

TEST_P(FixtureTest, DecodeArbitraryIdsMatchesLibrary) {
  auto cases = readJsonl(std::string(GetParam()) + ".decode.jsonl");
  ASSERT_GE(cases.size(), 100u);
  size_t same = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json::Object &c = *cases[i].getAsObject();
    std::vector<int32_t> ids = idsOf(c.get("ids"));
    std::string got = tok->decode(ids), gotSkip = tok->decode(ids, true);
    EXPECT_EQ(got, c.getString("text")->str())
        << GetParam() << " case " << i << " " << idList(ids);
    EXPECT_EQ(gotSkip, c.getString("skip")->str())
        << GetParam() << " case " << i << " " << idList(ids) << " (skip)";
    same += got == *c.getString("text") && gotSkip == *c.getString("skip");
  }
  std::cout << "[ fixture ] " << GetParam() << ": " << same << "/"
            << cases.size() << " arbitrary id sequences decode identically\n";
}

TEST_P(FixtureTest, EncodeBatchEqualsEncode) {
  std::vector<llvm::StringRef> refs(texts.begin(), texts.end());
  for (unsigned threads : {1u, 2u, 3u}) {
    auto batch = tok->encodeBatch(refs, threads);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i)
      ASSERT_EQ(batch[i], idsOf(rows[i].getAsObject()->get("ids")))
          << "threads " << threads << " string " << i;
  }
  auto special = tok->encodeBatch(refs, 2, /*addSpecial=*/true);
  for (size_t i = 0; i < texts.size(); i += 97)
    EXPECT_EQ(special[i], tok->encode(texts[i], true));
}

TEST_P(FixtureTest, IdsAreInRange) {
  int32_t n = tok->vocabSize();
  for (const std::string &t : texts)
    for (int32_t id : tok->encode(t, true))
      ASSERT_TRUE(id >= 0 && id < n) << id;
}

INSTANTIATE_TEST_SUITE_P(AllTokenizers, FixtureTest,
                         ::testing::Values("gpt2", "llama3", "qwen2",
                                           "sp_llama2", "sp_metaspace", "flags",
                                           "sp_metaspace_always", "gpt2_prefix",
                                           "nfkc_split"));

/// Random valid UTF-8: code points from every plane, weighted towards the
/// ranges texts use, plus whitespace and ASCII runs.
std::string randomUtf8(Rng &rng) {
  std::string s;
  size_t n = rng.below(40);
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp;
    switch (rng.below(6)) {
    case 0:
      cp = 0x20 + uint32_t(rng.below(0x5F));
      break;
    case 1:
      cp = " \t\n\r\v\f"[rng.below(6)];
      break;
    case 2:
      cp = uint32_t(rng.below(0x800));
      break;
    case 3:
      cp = uint32_t(rng.below(0x10000));
      break;
    default:
      cp = uint32_t(rng.below(0x110000));
      break;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
      cp = 'x';
    unicode::appendUtf8(cp, s);
  }
  return s;
}

class ByteLevelRoundTrip : public ::testing::TestWithParam<const char *> {};

TEST_P(ByteLevelRoundTrip, DecodeEncodeIsIdentity) {
  auto loaded = loadHFTokenizer(fixturePath(std::string(GetParam()) + ".json"));
  ASSERT_TRUE(bool(loaded)) << llvm::toString(loaded.takeError());
  const Tokenizer &tok = **loaded;
  ASSERT_EQ(tok.kind(), "bpe-bytelevel");
  size_t n = 0;
  for (const json::Value &row : readJsonl("strings.jsonl")) {
    std::string text = row.getAsObject()->getString("text")->str();
    ASSERT_EQ(tok.decode(tok.encode(text)), text) << printable(text);
    ++n;
  }
  Rng rng = Rng(42).derive(GetParam());
  for (int i = 0; i < 3000; ++i, ++n) {
    std::string text = randomUtf8(rng);
    ASSERT_EQ(tok.decode(tok.encode(text)), text) << printable(text);
  }
  std::cout << "[ fixture ] " << GetParam() << ": decode(encode(x)) == x for "
            << n << " strings\n";
}

// qwen2 normalizes to NFC, so only these two are identities on all input.
INSTANTIATE_TEST_SUITE_P(ByteLevel, ByteLevelRoundTrip,
                         ::testing::Values("gpt2", "llama3"));

TEST(FixtureMisc, PartialUtf8DecodesToReplacementCharacter) {
  auto tok = loadHFTokenizer(fixturePath("gpt2.json"));
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  // "é" is C3 A9; its first byte alone is an incomplete sequence.
  int32_t c3 = *(*tok)->tokenId("\xC3\x83"); // byte C3 is U+00C3 'Ã'
  EXPECT_EQ((*tok)->decode({c3}), "\xEF\xBF\xBD");
  EXPECT_EQ((*tok)->decode({c3, c3}), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(FixtureMisc, SpecialIdsAndLookups) {
  auto llama = loadHFTokenizer(fixturePath("llama3.json"));
  ASSERT_TRUE(bool(llama)) << llvm::toString(llama.takeError());
  const Tokenizer &t = **llama;
  EXPECT_EQ(t.bosId(), t.tokenId("<|begin_of_text|>"));
  EXPECT_EQ(t.eosId(), t.tokenId("<|end_of_text|>"));
  EXPECT_FALSE(t.padId());
  EXPECT_EQ(t.vocabSize(), 2008);
  EXPECT_TRUE(t.isSpecial(*t.tokenId("<|eot_id|>")));
  EXPECT_FALSE(t.isSpecial(*t.tokenId("Ġzyzzyva")));
  EXPECT_EQ(t.idToToken(*t.tokenId("Ġzyzzyva")), "Ġzyzzyva");
  EXPECT_FALSE(t.idToToken(99999));
  EXPECT_EQ(t.decode({-5, 99999, *t.tokenId("Ġzyzzyva")}), " zyzzyva");

  auto sp = loadHFTokenizer(fixturePath("sp_llama2.json"));
  ASSERT_TRUE(bool(sp)) << llvm::toString(sp.takeError());
  EXPECT_EQ((*sp)->kind(), "bpe-sentencepiece");
  EXPECT_EQ((*sp)->bosId(), 1);
  EXPECT_EQ((*sp)->eosId(), 2);
  EXPECT_EQ((*sp)->encode("", true), std::vector<int32_t>{1});
}

TEST(FixtureMisc, FingerprintIsStableAndDistinguishes) {
  auto a = loadHFTokenizer(fixturePath("gpt2.json"));
  auto b = loadHFTokenizer(fixturePath("gpt2.json"));
  auto c = loadHFTokenizer(fixturePath("llama3.json"));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ((*a)->fingerprint(), (*b)->fingerprint());
  EXPECT_NE((*a)->fingerprint(), (*c)->fingerprint());
  EXPECT_EQ((*a)->fingerprint().size(), 64u);
  // Reformatting the JSON (key order, whitespace) keeps the fingerprint.
  auto buf = llvm::MemoryBuffer::getFile(fixturePath("gpt2.json"));
  ASSERT_TRUE(bool(buf));
  auto v = json::parse((*buf)->getBuffer());
  ASSERT_TRUE(bool(v));
  std::string pretty = llvm::formatv("{0:2}", *v).str();
  auto d = loadHFTokenizerFromJson(pretty, "pretty.json");
  ASSERT_TRUE(bool(d)) << llvm::toString(d.takeError());
  EXPECT_EQ((*d)->fingerprint(), (*a)->fingerprint());
  // A changed merge changes it.
  json::Array &merges =
      *v->getAsObject()->getObject("model")->getArray("merges");
  std::swap(merges[0], merges[1]);
  auto e = loadHFTokenizerFromJson(llvm::formatv("{0}", *v).str(), "e.json");
  ASSERT_TRUE(bool(e)) << llvm::toString(e.takeError());
  EXPECT_NE((*e)->fingerprint(), (*a)->fingerprint());
}

TEST(FixtureMisc, TokenizerConfigSetsSpecialIds) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ftl-tok", dir));
  std::string json = llvm::MemoryBuffer::getFile(fixturePath("qwen2.json"))
                         .get()
                         ->getBuffer()
                         .str();
  auto write = [&](llvm::StringRef name, llvm::StringRef text) {
    std::error_code ec;
    llvm::raw_fd_ostream os((dir + "/" + name).str(), ec);
    ASSERT_FALSE(ec);
    os << text;
  };
  write("tokenizer.json", json);
  auto plain = loadHFTokenizer((dir + "/tokenizer.json").str());
  ASSERT_TRUE(bool(plain)) << llvm::toString(plain.takeError());
  EXPECT_EQ((*plain)->eosId(), (*plain)->tokenId("<|endoftext|>"));
  write(
      "tokenizer_config.json",
      R"({"eos_token": "<|im_end|>", "pad_token": {"content": "<|endoftext|>"},
            "bos_token": null})");
  auto cfg = loadHFTokenizer((dir + "/tokenizer.json").str());
  ASSERT_TRUE(bool(cfg)) << llvm::toString(cfg.takeError());
  EXPECT_EQ((*cfg)->eosId(), (*cfg)->tokenId("<|im_end|>"));
  EXPECT_EQ((*cfg)->padId(), (*cfg)->tokenId("<|endoftext|>"));
  EXPECT_FALSE((*cfg)->bosId());
  write("tokenizer_config.json", "{not json");
  auto bad = loadHFTokenizer((dir + "/tokenizer.json").str());
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("tokenizer_config.json"),
            std::string::npos);
  llvm::sys::fs::remove_directories(dir);
}

} // namespace
