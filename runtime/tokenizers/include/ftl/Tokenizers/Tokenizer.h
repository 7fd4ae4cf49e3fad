//===- ftl/Tokenizers/Tokenizer.h - Tokenizer interface ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The interface every tokenizer implements (bytes, byte-level BPE,
/// SentencePiece-style BPE) and the entry points that make one. Data pipelines,
/// the token cache, generation and chat formatting only see this interface.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_TOKENIZER_H
#define FTL_TOKENIZERS_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftl::rt {

/// All methods are const and safe to call from several threads at once.
class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Token ids for `text`. Added/special tokens written literally in `text`
  /// (e.g. "<|endoftext|>") are recognised as in Hugging Face `tokenizers`
  /// with `add_special_tokens=False`; `addSpecial` additionally applies the
  /// tokenizer's post-processor (e.g. a BOS token), as
  /// `add_special_tokens=True`.
  virtual std::vector<int32_t> encode(llvm::StringRef text,
                                      bool addSpecial = false) const = 0;

  /// Text for `ids`; `skipSpecial` drops special tokens as HF does. Ids that
  /// name no token are dropped; bytes that do not form valid UTF-8 (e.g. a
  /// cut multi-byte character) become U+FFFD, as in HF.
  virtual std::string decode(llvm::ArrayRef<int32_t> ids,
                             bool skipSpecial = false) const = 0;

  /// Number of ids (including added tokens): every id is < vocabSize().
  virtual int32_t vocabSize() const = 0;

  /// The id of a token string (regular or added), if any.
  virtual std::optional<int32_t> tokenId(llvm::StringRef token) const = 0;

  virtual std::optional<int32_t> bosId() const = 0;
  virtual std::optional<int32_t> eosId() const = 0;
  virtual std::optional<int32_t> padId() const = 0;

  /// A stable content hash of everything that affects encode(); caches key
  /// on it.
  virtual std::string fingerprint() const = 0;

  /// "bytes", "bpe-bytelevel", "bpe-sentencepiece", ...
  virtual llvm::StringRef kind() const = 0;

  /// The token string of `id` as the vocabulary spells it (e.g. "Ġthe",
  /// "▁the", "<|eot_id|>"), if `id` names a token.
  virtual std::optional<std::string> idToToken(int32_t id) const {
    return std::nullopt;
  }

  /// Whether `id` is a special token (dropped by decode with skipSpecial).
  virtual bool isSpecial(int32_t id) const { return false; }

  /// encode() of every text, on up to `threads` threads (0: one per core).
  /// The result is the same as calling encode() on each text in order.
  std::vector<std::vector<int32_t>>
  encodeBatch(llvm::ArrayRef<llvm::StringRef> texts, unsigned threads = 0,
              bool addSpecial = false) const;
};

/// A tokenizer over raw UTF-8 bytes: ids 0..255 are bytes, then
/// 256 = <bos>, 257 = <eos>, 258 = <pad>. encode(text, addSpecial=true)
/// prepends <bos>; text like "<bos>" is not parsed as a token.
std::unique_ptr<Tokenizer> makeByteTokenizer();

/// Loads a Hugging Face `tokenizer.json` (byte-level BPE as in GPT-2, Llama-3
/// and Qwen2, or SentencePiece-style BPE with byte fallback as in Llama-2 and
/// Mistral). Errors name the file and what is wrong.
///
/// bosId/eosId/padId come from a `tokenizer_config.json` next to the file
/// when there is one (bos_token, eos_token, pad_token), else from the
/// post-processor's leading special token and the usual token names.
llvm::Expected<std::unique_ptr<Tokenizer>>
loadHFTokenizer(llvm::StringRef path);

/// Like loadHFTokenizer, from the contents of a tokenizer.json;
/// `nameForErrors` stands for the file in messages.
llvm::Expected<std::unique_ptr<Tokenizer>>
loadHFTokenizerFromJson(llvm::StringRef json, llvm::StringRef nameForErrors);

} // namespace ftl::rt

#endif // FTL_TOKENIZERS_TOKENIZER_H
