//===- TokenizeTest.cpp - records to tokenized examples -------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "TestUtil.h"

#include "ftl/Data/Json.h"
#include "ftl/Runtime/Rng.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace ftl::rt;
using namespace ftl::rt::test;
using Mode = TokenizeOptions::Mode;
using Special = TokenizeOptions::Special;

namespace {

Record rec(std::vector<std::pair<std::string, std::string>> fields) {
  std::vector<Member> ms;
  for (auto &[k, v] : fields)
    ms.push_back(Member{k, Value(v)});
  Record r(std::move(ms));
  r.provenance().source = std::make_shared<const std::string>("t.jsonl");
  r.provenance().line = 3;
  return r;
}

std::vector<TokenizedExample> tokenize(const Record &r, const Tokenizer &tok,
                                       const TokenizeOptions &o,
                                       TokenizeNotes *notes = nullptr) {
  std::vector<TokenizedExample> out;
  if (llvm::Error e = tokenizeRecord(r, tok, o, 0, out, notes))
    ADD_FAILURE() << llvm::toString(std::move(e));
  return out;
}

std::vector<int32_t> cat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto &p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<float>
weights(std::initializer_list<std::pair<size_t, float>> runs) {
  std::vector<float> out;
  for (auto [n, w] : runs)
    out.insert(out.end(), n, w);
  return out;
}

} // namespace

TEST(Tokenize, TextModeBosEos) {
  CharTokenizer tok;
  TokenizeOptions o;
  auto ex = tokenize(rec({{"text", "abc"}}), tok, o);
  ASSERT_EQ(ex.size(), 1u);
  // Auto BOS = what encode(x, true) prepends; Auto EOS = the tokenizer's.
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("abc"), {2}}));
  EXPECT_EQ(ex[0].weights, weights({{1, 0}, {4, 1}}));
  EXPECT_EQ(ex[0].promptLength, 0);
  EXPECT_EQ(ex[0].provenance.where(), "t.jsonl:3");
  o.bos = Special::No;
  o.eos = Special::No;
  ex = tokenize(rec({{"text", "abc"}}), tok, o);
  EXPECT_EQ(ex[0].ids, charIds("abc"));
  EXPECT_EQ(ex[0].weights, weights({{1, 0}, {2, 1}}));
  // A tokenizer whose post-processor adds nothing gets no BOS under Auto,
  // and Yes insists on one.
  tok.hasBos = false;
  o.bos = Special::Auto;
  EXPECT_EQ(tokenize(rec({{"text", "ab"}}), tok, o)[0].ids, charIds("ab"));
  o.bos = Special::Yes;
  std::vector<TokenizedExample> out;
  EXPECT_EQ(errorOf(tokenizeRecord(rec({{"text", "ab"}}), tok, o, 0, out)),
            "tokenize: bos: yes, but the 'test-chars' tokenizer has no BOS "
            "token (use bos: auto or no)");
}

TEST(Tokenize, OptionErrors) {
  CharTokenizer tok;
  tok.hasEos = false;
  TokenizeOptions o;
  o.eos = Special::Yes;
  std::vector<TokenizedExample> out;
  EXPECT_EQ(errorOf(tokenizeRecord(rec({{"text", "a"}}), tok, o, 0, out)),
            "tokenize: eos: yes, but the 'test-chars' tokenizer has no EOS "
            "token (use eos: auto or no)");
  o.eos = Special::Auto;
  o.maxLength = -1;
  EXPECT_EQ(errorOf(tokenizeDataset(textRecords({"a"}), tok, o, {})),
            "tokenize: max_length must be >= 0, found -1");
  // Auto EOS without one: just the text.
  o.maxLength = 0;
  o.bos = Special::No;
  EXPECT_EQ(tokenize(rec({{"text", "ab"}}), tok, o)[0].ids, charIds("ab"));
}

TEST(Tokenize, ByteTokenizer) {
  auto tok = makeByteTokenizer();
  TokenizeOptions o;
  auto ex = tokenize(rec({{"text", "hi"}}), *tok, o);
  EXPECT_EQ(ex[0].ids, (std::vector<int32_t>{256, 'h', 'i', 257}));
}

TEST(Tokenize, AutoBosFollowsTheTokenizersPostProcessor) {
  // Llama-3's post-processor adds <|begin_of_text|>; Qwen2's adds nothing.
  auto llama = must(loadHFTokenizer(fixture("tokenizers/llama3.json")));
  auto qwen = must(loadHFTokenizer(fixture("tokenizers/qwen2.json")));
  ASSERT_TRUE(llama && qwen);
  TokenizeOptions o;
  o.eos = Special::No;
  auto r = rec({{"text", "hello world"}});
  auto ex = tokenize(r, *llama, o);
  ASSERT_TRUE(llama->bosId());
  EXPECT_EQ(ex[0].ids.front(), *llama->bosId());
  EXPECT_EQ(ex[0].ids, llama->encode("hello world", true));
  ex = tokenize(r, *qwen, o);
  EXPECT_EQ(ex[0].ids, qwen->encode("hello world", false));
}

TEST(Tokenize, PromptResponseLossOnResponse) {
  CharTokenizer tok;
  TokenizeOptions o;
  o.mode = Mode::PromptResponse;
  auto r = rec({{"prompt", "1+1="}, {"response", "2"}});
  auto ex = tokenize(r, tok, o);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("1+1="), charIds("2"), {2}}));
  EXPECT_EQ(ex[0].weights, weights({{5, 0}, {2, 1}}));
  EXPECT_EQ(ex[0].promptLength, 5);
  o.loss = TokenizeOptions::Loss::All;
  ex = tokenize(r, tok, o);
  EXPECT_EQ(ex[0].weights, weights({{1, 0}, {6, 1}}));
  // Field names are configurable (e.g. after a mapping).
  o.promptField = "question";
  EXPECT_EQ(errorOf(tokenizeRecord(r, tok, o, 0, ex)),
            "t.jsonl:3: record has no field 'question' (fields: prompt, "
            "response)");
}

TEST(Tokenize, PreferencePairsShareThePrompt) {
  CharTokenizer tok;
  TokenizeOptions o;
  o.mode = Mode::Preference;
  auto r = rec({{"prompt", "Q?"}, {"chosen", "yes"}, {"rejected", "no!!"}});
  std::vector<TokenizedExample> ex;
  ASSERT_FALSE(bool(tokenizeRecord(r, tok, o, 41, ex)));
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].part, TokenizedExample::Part::Chosen);
  EXPECT_EQ(ex[1].part, TokenizedExample::Part::Rejected);
  EXPECT_EQ(ex[0].exampleIndex, 41);
  EXPECT_EQ(ex[1].exampleIndex, 41);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("Q?"), charIds("yes"), {2}}));
  EXPECT_EQ(ex[1].ids, cat({{1}, charIds("Q?"), charIds("no!!"), {2}}));
  EXPECT_EQ(ex[0].weights, weights({{3, 0}, {4, 1}}));
  EXPECT_EQ(ex[1].weights, weights({{3, 0}, {5, 1}}));
  EXPECT_EQ(ex[0].promptLength, 3);
}

TEST(Tokenize, TruncationPolicies) {
  CharTokenizer tok;
  TokenizeOptions o;
  o.mode = Mode::PromptResponse;
  o.maxLength = 6;
  auto r = rec({{"prompt", "abcde"}, {"response", "xy"}});
  // Full: <bos> a b c d e x y <eos> (9 tokens). Right keeps the start.
  TokenizeNotes notes;
  o.maxLength = 7;
  auto ex = tokenize(r, tok, o, &notes);
  EXPECT_TRUE(notes.truncated);
  EXPECT_TRUE(ex[0].truncated);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("abcdex")}));
  EXPECT_EQ(ex[0].weights, weights({{6, 0}, {1, 1}}));
  // Cutting the whole response leaves nothing to learn: dropped...
  o.maxLength = 6;
  ex = tokenize(r, tok, o, &notes);
  EXPECT_TRUE(ex.empty());
  EXPECT_TRUE(notes.droppedNoLoss);
  // ... unless kept explicitly.
  o.keepNoLoss = true;
  ex = tokenize(r, tok, o);
  ASSERT_EQ(ex.size(), 1u);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("abcde")}));
  o.keepNoLoss = false;
  // PromptLeft drops prompt tokens after BOS, keeping the response.
  o.truncation = TokenizeOptions::Truncation::PromptLeft;
  ex = tokenize(r, tok, o, &notes);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("dexy"), {2}}));
  EXPECT_EQ(ex[0].weights, weights({{3, 0}, {3, 1}}));
  EXPECT_EQ(ex[0].promptLength, 3);
  // A response longer than the limit: all prompt goes, then the end.
  o.maxLength = 3;
  ex = tokenize(r, tok, o, &notes);
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("xy")}));
  // Drop skips the example.
  o.truncation = TokenizeOptions::Truncation::Drop;
  ex = tokenize(r, tok, o, &notes);
  EXPECT_TRUE(ex.empty());
  EXPECT_TRUE(notes.droppedTooLong);
}

TEST(Tokenize, PreferencePromptLeftCutsBothAlike) {
  CharTokenizer tok;
  TokenizeOptions o;
  o.mode = Mode::Preference;
  o.maxLength = 8;
  o.truncation = TokenizeOptions::Truncation::PromptLeft;
  auto r = rec({{"prompt", "abcdef"}, {"chosen", "x"}, {"rejected", "xyz"}});
  auto ex = tokenize(r, tok, o);
  ASSERT_EQ(ex.size(), 2u);
  // Longest is <bos> abcdef xyz <eos> = 11: both lose 3 prompt tokens.
  EXPECT_EQ(ex[0].ids, cat({{1}, charIds("def"), charIds("x"), {2}}));
  EXPECT_EQ(ex[1].ids, cat({{1}, charIds("def"), charIds("xyz"), {2}}));
  EXPECT_TRUE(ex[0].truncated && ex[1].truncated);
}

TEST(Tokenize, PretokenizedIdsAreVerbatim) {
  CharTokenizer tok;
  Record r({Member{"input_ids", Value::list({Value(5), Value(6), Value(7)})}});
  auto ex = tokenize(r, tok, TokenizeOptions());
  EXPECT_EQ(ex[0].ids, (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(ex[0].weights, weights({{1, 0}, {2, 1}}));
  Record bad({Member{"input_ids", Value::list({Value(5), Value(900)})}});
  std::vector<TokenizedExample> out;
  EXPECT_EQ(errorOf(tokenizeRecord(bad, tok, {}, 0, out)),
            "record: token id 900 is outside the vocabulary (size 259)");
  Record wrong({Member{"input_ids", Value::list({Value("x")})}});
  EXPECT_EQ(errorOf(tokenizeRecord(wrong, tok, {}, 0, out)),
            "record: field 'input_ids' must be a list of integer token ids, "
            "found a string in it");
}

TEST(Tokenize, MessagesMatchChatFixtureAndMaskAssistant) {
  auto buf = llvm::MemoryBuffer::getFile(fixture("tokenizers/chat.jsonl"));
  ASSERT_TRUE(bool(buf));
  llvm::SmallVector<llvm::StringRef, 0> lines;
  (*buf)->getBuffer().split(lines, '\n', -1, false);
  int checked = 0;
  for (llvm::StringRef line : lines) {
    Value c;
    JsonParseError err;
    ASSERT_TRUE(parseJson(line, c, err)) << err.message;
    if (c.find("add_generation_prompt")->getBool())
      continue;
    std::string tokName = c.find("tokenizer")->getString().str();
    auto tok =
        must(loadHFTokenizer(fixture("tokenizers/" + tokName + ".json")));
    if (!tok)
      continue;
    std::string format = c.find("format")->getString().str();
    Record r({Member{"messages", *c.find("messages")}});
    TokenizeOptions o;
    o.mode = Mode::Messages;
    o.chatFormat = format;
    o.keepNoLoss = true; // some conversations have no assistant turn
    auto ex = tokenize(r, *tok, o);
    ASSERT_EQ(ex.size(), 1u) << line.str();
    // Ids are what Hugging Face's apply_chat_template gives.
    std::vector<int32_t> expected;
    for (const Value &v : c.find("ids")->getList())
      expected.push_back(v.getInt());
    EXPECT_EQ(ex[0].ids, expected) << line.str();
    // The weighted tokens spell the assistant contents with their
    // end-of-turn tokens.
    std::vector<int32_t> trained;
    for (size_t i = 0; i < ex[0].ids.size(); ++i)
      if (ex[0].weights[i] != 0)
        trained.push_back(ex[0].ids[i]);
    std::string want;
    for (const Value &m : c.find("messages")->getList()) {
      if (m.find("role")->getString() != "assistant")
        continue;
      llvm::StringRef content = m.find("content")->getString();
      want += format == "llama3" ? content.trim().str() + "<|eot_id|>"
                                 : content.str() + "<|im_end|>";
    }
    EXPECT_EQ(tok->decode(trained, false), want) << line.str();
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(Tokenize, MessagesErrors) {
  CharTokenizer tok;
  TokenizeOptions o;
  o.mode = Mode::Messages;
  Record r(
      {Member{"messages",
              Value::list({Value::object({Member{"role", Value("user")}})})}});
  std::vector<TokenizedExample> out;
  EXPECT_EQ(errorOf(tokenizeRecord(r, tok, o, 0, out)),
            "record: message 0 of field 'messages' must be an object with "
            "string 'role' and 'content', found {\"role\":\"user\"}");
  Record notList({Member{"messages", Value("hi")}});
  EXPECT_EQ(errorOf(tokenizeRecord(notList, tok, o, 0, out)),
            "record: field 'messages' is a string, expected a list of {role, "
            "content}");
  Record emptyList({Member{"messages", Value::list()}});
  EXPECT_EQ(errorOf(tokenizeRecord(emptyList, tok, o, 0, out)),
            "record: field 'messages' is an empty list, expected messages");
  o.chatFormat = "nope";
  EXPECT_NE(errorOf(tokenizeRecord(r, tok, o, 0, out)).find("tokenize: "),
            std::string::npos);
}

TEST(Tokenize, StreamCountsAndThreadsGiveIdenticalOutput) {
  CharTokenizer tok;
  Rng rng(5);
  std::vector<Record> rs;
  for (int i = 0; i < 3000; ++i) {
    std::string p(rng.below(30), 'p'), q(rng.below(30), 'r');
    rs.push_back(rec({{"prompt", p}, {"response", q}}));
  }
  auto d = recordsDataset("m", rs);
  TokenizeOptions o;
  o.mode = Mode::PromptResponse;
  o.maxLength = 25;
  auto run = [&](unsigned threads, DataStats &stats) {
    o.threads = threads;
    DataContext ctx;
    ctx.stats = &stats;
    auto s = must(tokenizeDataset(d, tok, o, ctx));
    return must(readAll(*s));
  };
  DataStats s1, s2, s3;
  auto a = run(1, s1), b = run(2, s2), c = run(3, s3);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size(), c.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].ids, b[i].ids);
    EXPECT_EQ(a[i].weights, b[i].weights);
    EXPECT_EQ(a[i].exampleIndex, b[i].exampleIndex);
    EXPECT_EQ(a[i].ids, c[i].ids);
  }
  EXPECT_EQ(s1.counters(), s2.counters());
  EXPECT_EQ(s1.counters(), s3.counters());
  // Independent count of what the options must do to this data.
  int64_t truncated = 0, noLoss = 0;
  for (const Record &r : rs) {
    size_t p = r.get("prompt")->getString().size();
    size_t q = r.get("response")->getString().size();
    size_t total = 1 + p + q + 1;
    bool cut = total > 25;
    // Loss needs a response or EOS position among the first 25.
    if (std::min<size_t>(total, 25) <= 1 + p)
      ++noLoss;
    else if (cut)
      ++truncated;
  }
  EXPECT_EQ(s1.get("tokenize: truncated"), truncated);
  EXPECT_EQ(s1.get("tokenize: dropped (no loss tokens)"), noLoss);
  EXPECT_EQ(s1.get("tokenize: examples"), (int64_t)a.size());
  EXPECT_EQ((int64_t)a.size(), 3000 - noLoss);
  // Example indices are record positions.
  EXPECT_EQ(a[0].exampleIndex, 0);
}

TEST(Tokenize, StreamReportsRecordErrorsAfterEarlierExamples) {
  CharTokenizer tok;
  auto d = must(jsonlBufferDataset(
      "e.jsonl", "{\"text\":\"ok\"}\n{\"text\":5}\n{\"text\":\"later\"}\n"));
  TokenizeOptions o;
  o.threads = 2;
  auto s = must(tokenizeDataset(d, tok, o, {}));
  TokenizedExample ex;
  EXPECT_TRUE(must(s->next(ex)));
  EXPECT_EQ(errorOf(s->next(ex)),
            "e.jsonl:2: field 'text' is a number, expected a string");
}

TEST(Tokenize, DescribeIsCanonical) {
  TokenizeOptions o;
  o.mode = Mode::PromptResponse;
  o.maxLength = 512;
  EXPECT_EQ(o.describe(),
            "tokenize(prompt_response, prompt: prompt, response: response, "
            "loss: response, bos: auto, eos: auto, max_length: 512, "
            "truncation: right)");
}
