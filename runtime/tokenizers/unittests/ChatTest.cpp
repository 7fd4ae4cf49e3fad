//===- ChatTest.cpp - Chat formats ----------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// chat.jsonl holds conversations rendered with the published ChatML and
// Llama-3 templates (jinja2, as transformers' apply_chat_template does) and
// the ids Hugging Face `tokenizers` gives for the rendered text.
//
//===----------------------------------------------------------------------===//

#include "FixtureUtil.h"

#include "ftl/Tokenizers/Chat.h"

using namespace ftl::rt;
using namespace ftl::rt::testing;
namespace json = llvm::json;

namespace {

std::unique_ptr<Tokenizer> load(llvm::StringRef name) {
  auto tok = loadHFTokenizer(fixturePath(name.str() + ".json"));
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

std::vector<ChatMessage> messagesOf(const json::Object &c) {
  std::vector<ChatMessage> msgs;
  for (const json::Value &m : *c.getArray("messages")) {
    const json::Object &o = *m.getAsObject();
    msgs.push_back({o.getString("role")->str(), o.getString("content")->str()});
  }
  return msgs;
}

TEST(Chat, MatchesPublishedTemplates) {
  auto qwen = load("qwen2"), llama = load("llama3");
  ASSERT_TRUE(qwen && llama);
  auto cases = readJsonl("chat.jsonl");
  ASSERT_GE(cases.size(), 16u);
  for (size_t i = 0; i < cases.size(); ++i) {
    const json::Object &c = *cases[i].getAsObject();
    bool chatml = *c.getString("format") == "chatml";
    const Tokenizer &tok = chatml ? *qwen : *llama;
    auto enc = formatChat(tok, messagesOf(c),
                          chatml ? ChatFormat::ChatML : ChatFormat::Llama3,
                          *c.getBoolean("add_generation_prompt"));
    ASSERT_TRUE(bool(enc)) << llvm::toString(enc.takeError());
    EXPECT_EQ(enc->text, *c.getString("text")) << "case " << i;
    EXPECT_EQ(enc->ids, idsOf(c.get("ids"))) << "case " << i;
    EXPECT_EQ(enc->ids, tok.encode(enc->text)) << "case " << i;
  }
}

TEST(Chat, SpansCoverExactlyTheContent) {
  auto qwen = load("qwen2"), llama = load("llama3");
  ASSERT_TRUE(qwen && llama);
  std::vector<ChatMessage> msgs = {{"system", "Be brief."},
                                   {"user", "  What is 6*7?\n"},
                                   {"assistant", "42, of course."},
                                   {"user", ""}};
  for (ChatFormat f : {ChatFormat::ChatML, ChatFormat::Llama3}) {
    const Tokenizer &tok = f == ChatFormat::ChatML ? *qwen : *llama;
    auto enc = formatChat(tok, msgs, f, /*addGenerationPrompt=*/true);
    ASSERT_TRUE(bool(enc)) << llvm::toString(enc.takeError());
    // Three spans per message plus the generation prompt, tiling the ids.
    ASSERT_EQ(enc->spans.size(), 3 * msgs.size() + 1);
    int64_t at = 0;
    for (const RoleSpan &s : enc->spans) {
      EXPECT_EQ(s.begin, at);
      EXPECT_LE(s.begin, s.end);
      at = s.end;
    }
    EXPECT_EQ(at, int64_t(enc->ids.size()));
    int32_t endTok =
        *tok.tokenId(f == ChatFormat::ChatML ? "<|im_end|>" : "<|eot_id|>");
    for (size_t m = 0; m < msgs.size(); ++m) {
      const RoleSpan &header = enc->spans[3 * m],
                     &content = enc->spans[3 * m + 1],
                     &footer = enc->spans[3 * m + 2];
      EXPECT_EQ(header.role, msgs[m].role);
      EXPECT_FALSE(header.isContent);
      EXPECT_TRUE(content.isContent);
      EXPECT_FALSE(footer.isContent);
      // The content tokens are exactly the tokens of the content (Llama-3
      // trims it, as its template does).
      std::string text = msgs[m].content;
      if (f == ChatFormat::Llama3)
        text = llvm::StringRef(text).trim(" \t\n").str();
      std::vector<int32_t> want = tok.encode(text);
      std::vector<int32_t> got(enc->ids.begin() + content.begin,
                               enc->ids.begin() + content.end);
      EXPECT_EQ(got, want) << "message " << m;
      EXPECT_EQ(enc->ids[footer.begin], endTok);
    }
    const RoleSpan &gen = enc->spans.back();
    EXPECT_EQ(gen.role, "assistant");
    EXPECT_FALSE(gen.isContent);
    if (f == ChatFormat::Llama3) {
      EXPECT_EQ(enc->ids.front(), *tok.tokenId("<|begin_of_text|>"));
    }

    // The loss mask: assistant content plus its end-of-turn token.
    std::vector<uint8_t> mask = chatLossMask(*enc);
    const RoleSpan &a = enc->spans[7];
    ASSERT_EQ(a.role, "assistant");
    ASSERT_TRUE(a.isContent);
    for (int64_t i = 0; i < int64_t(mask.size()); ++i) {
      bool want = (i >= a.begin && i < a.end) || i == a.end;
      EXPECT_EQ(mask[i], want ? 1 : 0) << "token " << i;
    }
    std::vector<uint8_t> userMask = chatLossMask(*enc, "user");
    EXPECT_EQ(std::count(userMask.begin(), userMask.end(), 1),
              (enc->spans[4].end - enc->spans[4].begin) + 1 + 1);
  }
}

TEST(Chat, LeadingNewlineEdgeCase) {
  // A content that starts with a newline joins the template's newline when
  // the whole text is tokenized at once; formatChat keeps the boundary.
  auto qwen = load("qwen2");
  ASSERT_TRUE(qwen);
  auto enc = formatChat(*qwen, {{"user", "\nhi"}}, ChatFormat::ChatML, false);
  ASSERT_TRUE(bool(enc));
  const RoleSpan &content = enc->spans[1];
  EXPECT_EQ(std::vector<int32_t>(enc->ids.begin() + content.begin,
                                 enc->ids.begin() + content.end),
            qwen->encode("\nhi"));
  EXPECT_EQ(enc->text, "<|im_start|>user\n\nhi<|im_end|>\n");
}

TEST(Chat, Errors) {
  auto bytes = makeByteTokenizer();
  auto enc = formatChat(*bytes, {{"user", "hi"}}, ChatFormat::ChatML, false);
  ASSERT_FALSE(bool(enc));
  EXPECT_EQ(llvm::toString(enc.takeError()),
            "chat format 'chatml' needs the token '<|im_start|>', which this "
            "bytes tokenizer does not have");
  auto gpt2 = load("gpt2");
  ASSERT_TRUE(gpt2);
  auto l3 = formatChat(*gpt2, {{"user", "hi"}}, ChatFormat::Llama3, true);
  ASSERT_FALSE(bool(l3));
  EXPECT_NE(llvm::toString(l3.takeError()).find("'<|begin_of_text|>'"),
            std::string::npos);
  EXPECT_EQ(*parseChatFormat("ChatML"), ChatFormat::ChatML);
  EXPECT_EQ(*parseChatFormat("llama3"), ChatFormat::Llama3);
  auto bad = parseChatFormat("alpaca");
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "unknown chat format 'alpaca'; expected chatml or llama3");
}

} // namespace
