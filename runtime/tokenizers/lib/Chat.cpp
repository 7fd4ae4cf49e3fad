//===- Chat.cpp - Chat formats
//----------------------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Tokenizers/Chat.h"

#include "Unicode.h"

#include "llvm/ADT/StringExtras.h"

using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace ftl::rt {
namespace {

Error makeError(const llvm::Twine &msg) {
  return llvm::make_error<llvm::StringError>(msg,
                                             llvm::inconvertibleErrorCode());
}

/// Python's str.isspace, which Jinja's `trim` strips: White_Space plus the
/// separators U+001C..U+001F.
bool isPythonSpace(uint32_t cp) {
  return (cp >= 0x1C && cp <= 0x1F) ||
         (cp != unicode::kInvalid && unicode::isWhiteSpace(cp));
}

/// Jinja's `trim` filter (Python str.strip()).
StringRef pythonStrip(StringRef s) {
  size_t begin = 0, end = s.size();
  while (begin < end) {
    unsigned len;
    if (!isPythonSpace(unicode::decodeUtf8(s, begin, len)))
      break;
    begin += len;
  }
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (uint8_t(s[start]) & 0xC0) == 0x80)
      --start;
    unsigned len;
    uint32_t cp = unicode::decodeUtf8(s, start, len);
    if (start + len != end || !isPythonSpace(cp))
      break;
    end = start;
  }
  return s.slice(begin, end);
}

struct Builder {
  const Tokenizer &tok;
  ChatEncoding enc;

  void add(StringRef role, StringRef text, bool isContent) {
    int64_t begin = int64_t(enc.ids.size());
    std::vector<int32_t> ids = tok.encode(text, /*addSpecial=*/false);
    enc.ids.insert(enc.ids.end(), ids.begin(), ids.end());
    enc.text += text;
    enc.spans.push_back(
        {role.str(), begin, int64_t(enc.ids.size()), isContent});
  }
};

} // namespace

Expected<ChatFormat> parseChatFormat(StringRef name) {
  if (name.equals_insensitive("chatml"))
    return ChatFormat::ChatML;
  if (name.equals_insensitive("llama3"))
    return ChatFormat::Llama3;
  return makeError("unknown chat format '" + name +
                   "'; expected chatml or llama3");
}

Expected<ChatEncoding> formatChat(const Tokenizer &tok,
                                  llvm::ArrayRef<ChatMessage> messages,
                                  ChatFormat format, bool addGenerationPrompt) {
  const char *formatName = format == ChatFormat::ChatML ? "chatml" : "llama3";
  llvm::SmallVector<StringRef, 5> needed;
  if (format == ChatFormat::ChatML)
    needed = {"<|im_start|>", "<|im_end|>"};
  else
    needed = {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
              "<|eot_id|>"};
  for (StringRef t : needed)
    if (!tok.tokenId(t))
      return makeError("chat format '" + llvm::Twine(formatName) +
                       "' needs the token '" + t + "', which this " +
                       tok.kind() + " tokenizer does not have");

  Builder b{tok, {}};
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage &m = messages[i];
    if (format == ChatFormat::ChatML) {
      b.add(m.role, "<|im_start|>" + m.role + "\n", false);
      b.add(m.role, m.content, true);
      b.add(m.role, "<|im_end|>\n", false);
    } else {
      std::string header = i == 0 ? "<|begin_of_text|>" : "";
      header += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
      b.add(m.role, header, false);
      b.add(m.role, pythonStrip(m.content), true);
      b.add(m.role, "<|eot_id|>", false);
    }
  }
  if (addGenerationPrompt)
    b.add("assistant",
          format == ChatFormat::ChatML
              ? "<|im_start|>assistant\n"
              : "<|start_header_id|>assistant<|end_header_id|>\n\n",
          false);
  return std::move(b.enc);
}

std::vector<uint8_t> chatLossMask(const ChatEncoding &enc, StringRef role) {
  std::vector<uint8_t> mask(enc.ids.size(), 0);
  for (size_t s = 0; s < enc.spans.size(); ++s) {
    const RoleSpan &span = enc.spans[s];
    if (span.role != role)
      continue;
    if (span.isContent) {
      std::fill(mask.begin() + span.begin, mask.begin() + span.end, 1);
    } else if (s > 0 && enc.spans[s - 1].isContent &&
               enc.spans[s - 1].role == role && span.end > span.begin) {
      mask[span.begin] = 1; // the end-of-turn token
    }
  }
  return mask;
}

} // namespace ftl::rt
