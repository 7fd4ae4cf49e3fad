//===- ftl/Data/TokenWeights.h - Per-token loss weights ----------*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Loss weights of a response's tokens read from the record: key tokens
/// (TL-Training: tokens inside listed key spans weigh more) and diff weights
/// (FAIT: tokens where the response differs from a wrong version weigh more,
/// by changed line and by changed token). Weights are computed on bytes of
/// the response text and carried to the tokens that cover them, so they
/// follow the tokenizer's own segmentation. Exact rules: docs/objectives.md.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_TOKENWEIGHTS_H
#define FTL_DATA_TOKENWEIGHTS_H

#include "ftl/Data/Record.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ftl::rt {

class Tokenizer;

struct TokenWeighting {
  enum class Kind { None, KeyTokens, Diff };
  Kind kind = Kind::None;
  /// KeyTokens: a string field or a list of strings, the key spans.
  /// Diff: a string field, the wrong version of the response.
  std::string field;
  /// KeyTokens: the weight of a token that overlaps a key span (others 1).
  double weight = 2;
  /// Diff: 1 + lines * [in a changed line] + tokens * [a changed token].
  double lines = 1, tokens = 1;

  /// Canonical text for cache keys ("" for None).
  std::string describe() const;
};

/// The byte offset in `text` where each token of `ids` ends, for ids that
/// encode `text`. Byte-level tokenizers decode token by token exactly; for
/// others the ends come from decoding growing prefixes. Monotone, each at
/// most text.size().
std::vector<size_t> tokenByteEnds(const Tokenizer &tokenizer,
                                  llvm::ArrayRef<int32_t> ids,
                                  llvm::StringRef text);

/// Per byte of `text`: whether it lies in an occurrence of one of `keys`.
std::vector<uint8_t> keyBytes(llvm::StringRef text,
                              llvm::ArrayRef<std::string> keys);

/// Per byte of `text`: whether its line is missing from a longest common
/// subsequence of the lines of `text` and `other` (a changed or added
/// line; its newline counts with it).
std::vector<uint8_t> changedLineBytes(llvm::StringRef text,
                                      llvm::StringRef other);

/// Per token of `ids`: whether it is missing from a longest common
/// subsequence of `ids` and `other` (a substituted or inserted token).
std::vector<uint8_t> changedTokens(llvm::ArrayRef<int32_t> ids,
                                   llvm::ArrayRef<int32_t> other);

/// The weights of the tokens `ids` that encode `response` of `record`.
/// Errors name the record: a missing field, or one of the wrong type.
llvm::Expected<std::vector<float>>
responseTokenWeights(const TokenWeighting &weighting,
                     const Tokenizer &tokenizer, const Record &record,
                     llvm::StringRef response, llvm::ArrayRef<int32_t> ids);

} // namespace ftl::rt

#endif // FTL_DATA_TOKENWEIGHTS_H
