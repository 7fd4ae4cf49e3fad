//===- ErrorsTest.cpp - tokenizer.json errors -----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Every way a tokenizer.json can be wrong gives its own message naming the
// file, what was expected and what was found.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

using namespace ftl::rt;
namespace json = llvm::json;

namespace {

/// A small valid tokenizer.json to break in one place at a time.
json::Object base() {
  return json::Object{
      {"added_tokens", json::Array{json::Object{{"id", 3},
                                                {"content", "<s>"},
                                                {"special", true},
                                                {"normalized", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", nullptr},
      {"post_processor", nullptr},
      {"decoder", nullptr},
      {"model",
       json::Object{{"type", "BPE"},
                    {"vocab", json::Object{{"a", 0}, {"b", 1}, {"ab", 2}}},
                    {"merges", json::Array{"a b"}}}}};
}

std::string dump(const json::Object &o) {
  return llvm::formatv("{0}", json::Value(json::Object(o))).str();
}

/// The error message for `o`, or "" if it loads.
std::string errorFor(const json::Object &o) {
  auto tok = loadHFTokenizerFromJson(dump(o), "x.json");
  if (tok)
    return "";
  return llvm::toString(tok.takeError());
}

json::Object &model(json::Object &o) { return *o.getObject("model"); }

#define EXPECT_ERROR(obj, text)                                                \
  do {                                                                         \
    std::string msg = errorFor(obj);                                           \
    EXPECT_NE(msg.find(text), std::string::npos)                               \
        << "message: '" << msg << "'\nexpected to contain: '" << text << "'";  \
    EXPECT_NE(msg.find("'x.json'"), std::string::npos) << msg;                 \
  } while (0)

TEST(TokenizerErrors, BaseLoads) {
  auto tok = loadHFTokenizerFromJson(dump(base()), "x.json");
  ASSERT_TRUE(bool(tok)) << llvm::toString(tok.takeError());
  EXPECT_EQ((*tok)->encode("ab<s>ba"), (std::vector<int32_t>{2, 3, 1, 0}));
  EXPECT_EQ((*tok)->kind(), "bpe");
}

TEST(TokenizerErrors, NotJson) {
  for (const char *text : {"", "{\"model\": ", "not json", "{\"a\": 1,}"}) {
    auto tok = loadHFTokenizerFromJson(text, "x.json");
    ASSERT_FALSE(bool(tok));
    std::string msg = llvm::toString(tok.takeError());
    EXPECT_NE(msg.find("'x.json' is not valid JSON"), std::string::npos) << msg;
  }
  auto arr = loadHFTokenizerFromJson("[1, 2]", "x.json");
  ASSERT_FALSE(bool(arr));
  EXPECT_EQ(llvm::toString(arr.takeError()),
            "'x.json' holds an array; expected a tokenizer.json object");
}

TEST(TokenizerErrors, MissingModel) {
  json::Object o = base();
  o.erase("model");
  EXPECT_ERROR(o, "has no \"model\" object");
  o["model"] = "BPE";
  EXPECT_ERROR(o, "has no \"model\" object");
}

TEST(TokenizerErrors, UnsupportedModel) {
  json::Object o = base();
  model(o)["type"] = "Unigram";
  EXPECT_EQ(
      errorFor(o),
      "unsupported tokenizer model 'Unigram' in 'x.json'; supported: BPE");
  model(o)["type"] = "WordPiece";
  EXPECT_EQ(errorFor(o), "unsupported tokenizer model 'WordPiece' in "
                         "'x.json'; supported: BPE");
  // Without "type", a Unigram model is recognised by its vocab list.
  json::Object u = base();
  u["model"] = json::Object{{"vocab", json::Array{json::Array{"a", -1.0}}}};
  EXPECT_ERROR(u, "unsupported tokenizer model 'Unigram'");
}

TEST(TokenizerErrors, UnsupportedPipelineParts) {
  json::Object o = base();
  o["pre_tokenizer"] = json::Object{{"type", "Punctuation"}};
  EXPECT_ERROR(o, "unsupported pre-tokenizer 'Punctuation' in 'x.json'; "
                  "supported: Sequence, ByteLevel, Split");
  o = base();
  o["pre_tokenizer"] =
      json::Object{{"type", "Sequence"},
                   {"pretokenizers",
                    json::Array{json::Object{{"type", "BertPreTokenizer"}}}}};
  EXPECT_ERROR(o, "unsupported pre-tokenizer 'BertPreTokenizer'");
  o = base();
  o["normalizer"] = json::Object{{"type", "Lowercase"}};
  EXPECT_ERROR(o, "unsupported normalizer 'Lowercase' in 'x.json'; "
                  "supported: Sequence, NFC");
  o = base();
  o["normalizer"] = json::Object{{"type", "Precompiled"}};
  EXPECT_ERROR(o, "unsupported normalizer 'Precompiled'");
  o = base();
  o["decoder"] = json::Object{{"type", "WordPiece"}};
  EXPECT_ERROR(o, "unsupported decoder 'WordPiece'");
  o = base();
  o["post_processor"] = json::Object{{"type", "Nonsense"}};
  EXPECT_ERROR(o, "unsupported post-processor 'Nonsense'");
  o = base();
  o["normalizer"] = json::Object{{"type", "Replace"},
                                 {"pattern", json::Object{{"Regex", "\\s+"}}},
                                 {"content", " "}};
  EXPECT_ERROR(o, "unsupported regex pattern in the Replace normalizer");
  o = base();
  o["normalizer"] = "NFC";
  EXPECT_ERROR(o, "the normalizer in 'x.json' is a string; expected an object");
}

TEST(TokenizerErrors, BadPreTokenizerOptions) {
  json::Object o = base();
  o["pre_tokenizer"] =
      json::Object{{"type", "Split"},
                   {"pattern", json::Object{{"Regex", "a(?=b)"}}},
                   {"behavior", "Isolated"},
                   {"invert", false}};
  EXPECT_ERROR(o, "unsupported Split regex 'a(?=b)' in 'x.json'");
  o = base();
  o["pre_tokenizer"] = json::Object{{"type", "Split"},
                                    {"pattern", json::Object{{"String", " "}}},
                                    {"behavior", "Sideways"}};
  EXPECT_ERROR(o, "unknown Split behavior 'Sideways'");
  o = base();
  o["pre_tokenizer"] = json::Object{
      {"type", "Sequence"},
      {"pretokenizers", json::Array{json::Object{{"type", "ByteLevel"}},
                                    json::Object{{"type", "Digits"}}}}};
  EXPECT_ERROR(o, "ByteLevel must be the last pre-tokenizer");
  o = base();
  o["pre_tokenizer"] = json::Object{{"type", "Metaspace"},
                                    {"replacement", "ab"},
                                    {"prepend_scheme", "first"}};
  EXPECT_ERROR(o, "\"replacement\" of the Metaspace pre-tokenizer in "
                  "'x.json' is 'ab'; expected a single character");
  o = base();
  o["pre_tokenizer"] = json::Object{{"type", "Metaspace"},
                                    {"replacement", "x"},
                                    {"prepend_scheme", "sometimes"}};
  EXPECT_ERROR(o, "unknown prepend_scheme 'sometimes'");
  o = base();
  o["pre_tokenizer"] =
      json::Object{{"type", "ByteLevel"}, {"add_prefix_space", "yes"}};
  EXPECT_ERROR(o, "\"add_prefix_space\" of the ByteLevel pre-tokenizer in "
                  "'x.json' is a string; expected true or false");
}

TEST(TokenizerErrors, MergeReferencesUnknownToken) {
  json::Object o = base();
  model(o)["merges"] = json::Array{"a b", "a c"};
  EXPECT_EQ(errorFor(o), "merge 1 ('a c') in 'x.json' references token 'c', "
                         "which is not in the vocabulary");
  o = base();
  model(o)["merges"] = json::Array{json::Array{"b", "a"}};
  EXPECT_EQ(errorFor(o), "merge 0 ('b a') in 'x.json' produces 'ba', which "
                         "is not in the vocabulary");
  o = base();
  model(o)["merges"] = json::Array{"a  b"};
  EXPECT_ERROR(o, "is not two tokens separated by one space");
  o = base();
  model(o)["merges"] = json::Array{json::Array{"a"}};
  EXPECT_ERROR(o, "merge 0 in 'x.json' is an array; expected \"a b\"");
  o = base();
  model(o).erase("merges");
  EXPECT_ERROR(o, "needs a \"merges\" array");
  o = base();
  model(o).erase("vocab");
  EXPECT_ERROR(o, "needs a \"vocab\" object");
}

TEST(TokenizerErrors, IdsOutOfRange) {
  json::Object o = base();
  model(o)["vocab"] = json::Object{{"a", -1}, {"b", 1}, {"ab", 2}};
  EXPECT_EQ(errorFor(o), "the token 'a' in 'x.json' has id -1, which is out "
                         "of range; expected 0 <= id < 4194304");
  model(o)["vocab"] = json::Object{{"a", 0}, {"b", 1}, {"ab", 99999999}};
  EXPECT_ERROR(o, "the token 'ab' in 'x.json' has id 99999999, which is out "
                  "of range");
  model(o)["vocab"] = json::Object{{"a", 0}, {"b", "one"}, {"ab", 2}};
  EXPECT_ERROR(o, "the token 'b' in 'x.json' has id \"one\"; expected an "
                  "integer");
  model(o)["vocab"] = json::Object{{"a", 0}, {"b", 1.5}, {"ab", 2}};
  EXPECT_ERROR(o, "has id 1.5; expected an integer");
  o = base();
  o["added_tokens"] = json::Array{
      json::Object{{"id", -3}, {"content", "<s>"}, {"special", true}}};
  EXPECT_ERROR(o, "the added token '<s>' in 'x.json' has id -3, which is "
                  "out of range");
  o = base();
  o["post_processor"] = json::Object{
      {"type", "TemplateProcessing"},
      {"single",
       json::Array{json::Object{{"SpecialToken", json::Object{{"id", "<s>"}}}},
                   json::Object{{"Sequence", json::Object{{"id", "A"}}}}}},
      {"special_tokens",
       json::Object{
           {"<s>", json::Object{{"id", "<s>"}, {"ids", json::Array{77}}}}}}};
  EXPECT_ERROR(o, "the post-processor in 'x.json' adds id 77, which names "
                  "no token");
}

TEST(TokenizerErrors, DuplicateIds) {
  json::Object o = base();
  model(o)["vocab"] = json::Object{{"a", 0}, {"b", 0}, {"ab", 2}};
  EXPECT_EQ(errorFor(o), "tokens 'a' and 'b' in 'x.json' both have id 0; "
                         "expected each id once");
  o = base();
  // An added token claiming an id the vocabulary already uses.
  o["added_tokens"] = json::Array{
      json::Object{{"id", 1}, {"content", "<s>"}, {"special", true}}};
  EXPECT_ERROR(o, "the added token '<s>' in 'x.json' has id 1, but its id "
                  "must be 3 (the next free id)");
  o = base();
  o["added_tokens"] = json::Array{
      json::Object{{"id", 3}, {"content", "<s>"}, {"special", true}},
      json::Object{{"id", 3}, {"content", "</s>"}, {"special", true}}};
  EXPECT_ERROR(o, "the added token '</s>' in 'x.json' has id 3, but its id "
                  "must be 4");
}

TEST(TokenizerErrors, OtherModelProblems) {
  json::Object o = base();
  model(o)["unk_token"] = "<unk>";
  EXPECT_ERROR(o, "the unk_token '<unk>' in 'x.json' is not in the vocabulary");
  o = base();
  model(o)["dropout"] = 0.1;
  EXPECT_ERROR(o, "unsupported BPE dropout 0.1 in 'x.json'");
  o = base();
  model(o)["end_of_word_suffix"] = "</w>";
  EXPECT_ERROR(o, "unsupported BPE option \"end_of_word_suffix\": '</w>'");
  o = base();
  o["added_tokens"] = json::Array{json::Object{{"id", 3}, {"content", ""}}};
  EXPECT_ERROR(o, "an added token in 'x.json' has empty \"content\"");
  o = base();
  o["added_tokens"] = json::Object{};
  EXPECT_ERROR(o,
               "\"added_tokens\" in 'x.json' is an object; expected an array");
  o = base();
  o["post_processor"] = json::Object{
      {"type", "TemplateProcessing"},
      {"single",
       json::Array{
           json::Object{{"SpecialToken", json::Object{{"id", "<bos>"}}}},
           json::Object{{"Sequence", json::Object{{"id", "A"}}}}}},
      {"special_tokens", json::Object{}}};
  EXPECT_ERROR(o, "uses special token '<bos>' that its \"special_tokens\" "
                  "does not define");
}

TEST(TokenizerErrors, FileProblemsNameThePath) {
  auto missing = loadHFTokenizer("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError())
                .find("cannot read tokenizer file "
                      "'/nonexistent/dir/tokenizer.json'"),
            std::string::npos);

  llvm::SmallString<128> path;
  int fd;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("ftl-tok", "json", fd, path));
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    json::Object o = base();
    model(o)["type"] = "Unigram";
    os << dump(o);
  }
  auto bad = loadHFTokenizer(path);
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            ("unsupported tokenizer model 'Unigram' in '" + path +
             "'; supported: BPE")
                .str());
  llvm::sys::fs::remove(path);
}

} // namespace
