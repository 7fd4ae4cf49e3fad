//===- UnicodeTest.cpp - Code points, classes, normalization, scanners ----===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Expectations come from the Unicode standard (UCD properties, the
// normalization examples, Table 3-8 of chapter 3 for U+FFFD substitution)
// and from the semantics of the split regexes, worked out by hand.
//
//===----------------------------------------------------------------------===//

#include "Unicode.h"
#include "FixtureUtil.h"
#include "Pipeline.h"

#include "gtest/gtest.h"

#include <set>

using namespace ftl::rt;
using namespace ftl::rt::unicode;
using namespace ftl::rt::tok;

namespace {

TEST(Unicode, DecodeUtf8) {
  unsigned len;
  EXPECT_EQ(decodeUtf8("\xE2\x82\xAC", 0, len), 0x20ACu);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(decodeUtf8("\xF0\x9F\x98\x80", 0, len), 0x1F600u);
  EXPECT_EQ(len, 4u);
  EXPECT_EQ(decodeUtf8("\xC3\xA9", 0, len), 0xE9u);
  // Overlong, surrogate, above U+10FFFF, truncated, lone continuation.
  for (const char *bad :
       {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\x80"}) {
    EXPECT_EQ(decodeUtf8(bad, 0, len), kInvalid) << bad;
    EXPECT_EQ(len, 1u);
  }
  EXPECT_TRUE(isValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(isValidUtf8("h\xC3llo"));
}

TEST(Unicode, LossyUtf8SubstitutesMaximalSubparts) {
  // The example of Table 3-8 (Unicode 14, chapter 3.9).
  std::string out;
  appendLossyUtf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", out);
  EXPECT_EQ(out, "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                 "b\xEF\xBF\xBD"
                 "c\xEF\xBF\xBD\xEF\xBF\xBD"
                 "d");
  out.clear();
  appendLossyUtf8("ok \xE2\x82\xAC", out);
  EXPECT_EQ(out, "ok \xE2\x82\xAC");
  out.clear();
  appendLossyUtf8("\xE0\x80\x80", out); // E0 needs A0..BF next: 3 errors
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Unicode, Classes) {
  EXPECT_TRUE(isLetter('a'));
  EXPECT_TRUE(isLetter(0x01C5));  // ǅ Lt
  EXPECT_TRUE(isLetter(0x02B0));  // ʰ Lm
  EXPECT_TRUE(isLetter(0x4E00));  // CJK Lo
  EXPECT_FALSE(isLetter(0x0301)); // combining acute, Mn
  EXPECT_TRUE(isNumber('7'));
  EXPECT_TRUE(isNumber(0x216B)); // Ⅻ Nl
  EXPECT_TRUE(isNumber(0x00BD)); // ½ No
  EXPECT_TRUE(isNumber(0x0663)); // Arabic-Indic three, Nd
  EXPECT_FALSE(isNumber('x'));
  for (uint32_t ws : {0x09u, 0x0Bu, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2007u,
                      0x2028u, 0x202Fu, 0x3000u})
    EXPECT_TRUE(isWhiteSpace(ws)) << ws;
  for (uint32_t notWs : {0x200Bu, 0x180Eu, 0xFEFFu, 0x1Cu})
    EXPECT_FALSE(isWhiteSpace(notWs)) << notWs;
  EXPECT_TRUE(isAlphanumeric(0x0903)); // Devanagari visarga: Alphabetic
  EXPECT_FALSE(isLetter(0x0903));
  EXPECT_TRUE(isAlphanumeric(0x216B));
  EXPECT_FALSE(isAlphanumeric('_'));
  EXPECT_FALSE(isAlphanumeric(0x1F600));
  EXPECT_EQ(classOf(kInvalid), 0);
  EXPECT_EQ(combiningClass(0x0301), 230);
  EXPECT_EQ(combiningClass(0x0323), 220);
  EXPECT_EQ(combiningClass('a'), 0);
}

std::string norm(llvm::StringRef s, NormForm f) {
  std::string out;
  normalize(s, f, out);
  return out;
}

TEST(Unicode, Normalization) {
  // e + combining acute composes to é; é decomposes back.
  EXPECT_EQ(norm("e\xCC\x81", NormForm::NFC), "\xC3\xA9");
  EXPECT_EQ(norm("\xC3\xA9", NormForm::NFD), "e\xCC\x81");
  // ANGSTROM SIGN is a singleton: NFC gives U+00C5.
  EXPECT_EQ(norm("\xE2\x84\xAB", NormForm::NFC), "\xC3\x85");
  // Hangul: jamo compose algorithmically (U+1100 U+1161 U+11A8 = U+AC01).
  EXPECT_EQ(norm("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", NormForm::NFC),
            "\xEA\xB0\x81");
  EXPECT_EQ(norm("\xEA\xB0\x80", NormForm::NFD), "\xE1\x84\x80\xE1\x85\xA1");
  // Reordering: a + circumflex(230) + dot below(220) -> U+1EAD.
  EXPECT_EQ(norm("a\xCC\x82\xCC\xA3", NormForm::NFC), "\xE1\xBA\xAD");
  EXPECT_EQ(norm("a\xCC\x82\xCC\xA3", NormForm::NFD), "a\xCC\xA3\xCC\x82");
  // Composition exclusion: U+0958 stays decomposed under NFC.
  EXPECT_EQ(norm("\xE0\xA5\x98", NormForm::NFC), "\xE0\xA4\x95\xE0\xA4\xBC");
  // Compatibility forms.
  EXPECT_EQ(norm("\xEF\xAC\x81", NormForm::NFKC), "fi");           // ﬁ
  EXPECT_EQ(norm("x\xC2\xB2", NormForm::NFKC), "x2");              // ²
  EXPECT_EQ(norm("\xEF\xBD\xB6", NormForm::NFKC), "\xE3\x82\xAB"); // ｶ -> カ
  EXPECT_EQ(norm("\xEF\xAC\x81", NormForm::NFC), "\xEF\xAC\x81");
  // Already normalized text and invalid bytes come through unchanged.
  EXPECT_EQ(norm("plain ascii", NormForm::NFC), "plain ascii");
  EXPECT_EQ(norm("e\xCC\x81\xFF", NormForm::NFC), "\xC3\xA9\xFF");
}

std::vector<std::string> scanAll(ScannerKind kind, llvm::StringRef s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t end = scanMatch(kind, s, i);
    EXPECT_GT(end, i);
    out.push_back(s.slice(i, end).str());
    i = end;
  }
  return out;
}

using Pieces = std::vector<std::string>;

TEST(Scanners, Gpt2) {
  EXPECT_EQ(scanAll(ScannerKind::Gpt2, "Hello world's  end\n"),
            (Pieces{"Hello", " world", "'s", " ", " end", "\n"}));
  EXPECT_EQ(scanAll(ScannerKind::Gpt2, "I'M 2024!! ok?   "),
            (Pieces{"I", "'", "M", " 2024", "!!", " ok", "?", "   "}));
  EXPECT_EQ(scanAll(ScannerKind::Gpt2, "a\t\tb \n c"),
            (Pieces{"a", "\t", "\t", "b", " \n", " c"}));
}

TEST(Scanners, Llama3) {
  EXPECT_EQ(scanAll(ScannerKind::Llama3, "I'M 12345 x\r\n\n  y"),
            (Pieces{"I", "'M", " ", "123", "45", " x", "\r\n\n", " ", " y"}));
  EXPECT_EQ(scanAll(ScannerKind::Llama3, "(hello) it'\xC5\xBF x.\n\n"),
            (Pieces{"(hello", ")", " it", "'\xC5\xBF", " x", ".\n\n"}));
  EXPECT_EQ(scanAll(ScannerKind::Qwen2, "12345"),
            (Pieces{"1", "2", "3", "4", "5"}));
  // Whitespace then newline then spaces before a word.
  EXPECT_EQ(scanAll(ScannerKind::Llama3, "a  \n  b"),
            (Pieces{"a", "  \n", " ", " b"}));
}

TEST(Scanners, KnownRegexes) {
  ScannerKind k;
  EXPECT_TRUE(scannerForRegex(
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
      k));
  EXPECT_EQ(k, ScannerKind::Gpt2);
  EXPECT_FALSE(scannerForRegex(R"(\s+)", k));
}

TEST(ByteLevelMap, IsABijection) {
  std::set<uint32_t> seen;
  for (unsigned b = 0; b < 256; ++b) {
    uint32_t cp = byteToUnicode(uint8_t(b));
    EXPECT_TRUE(seen.insert(cp).second);
    EXPECT_EQ(unicodeToByte(cp), int(b));
  }
  EXPECT_EQ(byteToUnicode(' '), 0x120u);  // 'Ġ'
  EXPECT_EQ(byteToUnicode('\n'), 0x10Au); // 'Ċ'
  EXPECT_EQ(byteToUnicode('a'), uint32_t('a'));
  EXPECT_EQ(unicodeToByte(0x4E00), -1);
}

} // namespace

// normalization.jsonl: strings with their four forms from Python's
// unicodedata (Unicode 14.0), written by make_tokenizers.py.
TEST(Unicode, NormalizationMatchesUnicodedata) {
  auto rows = ftl::rt::testing::readJsonl("normalization.jsonl");
  ASSERT_GE(rows.size(), 300u);
  size_t same = 0;
  for (const llvm::json::Value &row : rows) {
    const llvm::json::Object &o = *row.getAsObject();
    std::string text = o.getString("text")->str();
    bool ok = true;
    for (auto [key, form] :
         {std::pair<const char *, NormForm>{"nfc", NormForm::NFC},
          {"nfd", NormForm::NFD},
          {"nfkc", NormForm::NFKC},
          {"nfkd", NormForm::NFKD}}) {
      std::string got = norm(text, form);
      EXPECT_EQ(got, *o.getString(key)) << key << " of " << text;
      ok &= got == *o.getString(key);
    }
    same += ok;
  }
  EXPECT_EQ(same, rows.size());
}
