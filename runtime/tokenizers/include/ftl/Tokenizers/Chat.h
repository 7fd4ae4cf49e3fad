//===- ftl/Tokenizers/Chat.h - Chat formats ---------------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Renders a conversation in a model's chat format and tokenizes it, keeping
/// track of which tokens belong to which message so that losses can mask by
/// role (e.g. train only on assistant content and its end-of-turn token).
///
/// Formats (the published templates):
///   ChatML:  <|im_start|>{role}\n{content}<|im_end|>\n ...
///            generation prompt: <|im_start|>assistant\n
///   Llama3:  <|begin_of_text|> then per message
///            <|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>
///            generation prompt:
///            <|start_header_id|>assistant<|end_header_id|>\n\n
///
/// Tokenization: the template pieces and each content are encoded on their
/// own and concatenated, so every content starts and ends on a token
/// boundary. This equals tokenizing the whole rendered text (what
/// `apply_chat_template(..., tokenize=True)` does) except where a content
/// starts with whitespace that the pre-tokenizer would join to the template
/// newline before it.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_CHAT_H
#define FTL_TOKENIZERS_CHAT_H

#include "ftl/Tokenizers/Tokenizer.h"

namespace ftl::rt {

struct ChatMessage {
  std::string role, content;
};

/// Tokens [begin, end) of one part of one message. Each message gives three
/// spans in order: the template before its content (isContent = false; for
/// the first Llama-3 message this includes <|begin_of_text|>), the content
/// (isContent = true; possibly empty), and the template after it
/// (isContent = false; its first token is the end-of-turn token
/// <|im_end|> / <|eot_id|>). A generation prompt adds one span with role
/// "assistant" and isContent = false. The spans tile the ids exactly.
struct RoleSpan {
  std::string role;
  int64_t begin, end; // token index range
  bool isContent;
};

struct ChatEncoding {
  std::vector<int32_t> ids;
  std::vector<RoleSpan> spans;
  /// The rendered text (what the published template produces).
  std::string text;
};

enum class ChatFormat { ChatML, Llama3 };

/// "chatml" / "llama3" (case-insensitive) to a format.
llvm::Expected<ChatFormat> parseChatFormat(llvm::StringRef name);

/// Renders and tokenizes `messages`. Fails when the tokenizer lacks a token
/// the format needs (naming it).
llvm::Expected<ChatEncoding> formatChat(const Tokenizer &tokenizer,
                                        llvm::ArrayRef<ChatMessage> messages,
                                        ChatFormat format,
                                        bool addGenerationPrompt);

/// 1 for every token a model should learn to produce for the messages whose
/// role is `role`: their content and the end-of-turn token after it; 0
/// elsewhere. Same length as `enc.ids`.
std::vector<uint8_t> chatLossMask(const ChatEncoding &enc,
                                  llvm::StringRef role = "assistant");

} // namespace ftl::rt

#endif // FTL_TOKENIZERS_CHAT_H
