//===- Pipeline.h - Normalizers, pre-tokenizers, decoders ------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Internal to FTLTokenizers: the stages of a Hugging Face tokenizer around
/// its model, each reproducing what `tokenizers` 0.20 does.
///
/// * A Normalizer rewrites a piece of text (NFC, Prepend, Replace, ...).
/// * A PreTokenizer splits text into words. Pieces are byte ranges into one
///   buffer; stages that rewrite text append the new text to the buffer.
/// * A Decoder turns token strings back into text, as a chain over a list of
///   strings.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_LIB_PIPELINE_H
#define FTL_TOKENIZERS_LIB_PIPELINE_H

#include "Unicode.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>
#include <vector>

namespace re2 {
class RE2;
}

namespace ftl::rt::tok {

//===----------------------------------------------------------------------===//
// Normalizers
//===----------------------------------------------------------------------===//

class Normalizer {
public:
  virtual ~Normalizer();
  /// Appends the normalized form of `in` to `out` (which is empty).
  virtual void normalize(llvm::StringRef in, std::string &out) const = 0;
};

std::unique_ptr<Normalizer> makeUnicodeNormalizer(unicode::NormForm form);
std::unique_ptr<Normalizer> makePrependNormalizer(std::string prepend);
std::unique_ptr<Normalizer> makeReplaceNormalizer(std::string pattern,
                                                  std::string content);
std::unique_ptr<Normalizer> makeStripNormalizer(bool left, bool right);
std::unique_ptr<Normalizer>
makeSequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps);

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

/// A byte range [begin, end) of the pre-tokenizer buffer. `atStart` is set
/// when the range starts at offset 0 of the original input (Metaspace's
/// "first" prepend scheme needs it).
struct Piece {
  size_t begin, end;
  bool atStart;
};

/// Hugging Face's SplitDelimiterBehavior.
enum class SplitBehavior {
  Removed,
  Isolated,
  MergedWithPrevious,
  MergedWithNext,
  Contiguous
};

/// The hand-written scanners for the split regexes models use.
enum class ScannerKind {
  Gpt2,   ///< 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|... (ByteLevel)
  Llama3, ///< (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|...
  Qwen2   ///< as Llama3 with \p{N} (single digits)
};

/// The end of the match of the scanner's regex that starts at `i` (every
/// position starts a match of these regexes).
size_t scanMatch(ScannerKind kind, llvm::StringRef s, size_t i);

/// Recognises one of the known split regexes; returns false otherwise.
bool scannerForRegex(llvm::StringRef regex, ScannerKind &kind);

class PreTokenizer {
public:
  virtual ~PreTokenizer();
  /// Replaces `pieces` (ranges of `buf`) by their split; may append
  /// rewritten text to `buf`. `tmp` is scratch space.
  virtual void apply(std::string &buf, llvm::SmallVectorImpl<Piece> &pieces,
                     llvm::SmallVectorImpl<Piece> &tmp) const = 0;
  /// Whether this is (or ends with) the ByteLevel pre-tokenizer, i.e. the
  /// model sees byte-level symbols.
  virtual bool isByteLevel() const { return false; }
};

std::unique_ptr<PreTokenizer>
makeScannerSplit(ScannerKind kind, SplitBehavior behavior, bool invert);
std::unique_ptr<PreTokenizer>
makeLiteralSplit(std::string pattern, SplitBehavior behavior, bool invert);
/// A Split with a regex none of the scanners covers, matched with RE2 after
/// rewriting Oniguruma's Unicode classes (\s, \d, \w) into RE2 syntax. Fails
/// with a message in `error` when RE2 cannot take the pattern.
std::unique_ptr<PreTokenizer> makeRegexSplit(llvm::StringRef regex,
                                             SplitBehavior behavior,
                                             bool invert, std::string &error);
std::unique_ptr<PreTokenizer> makeByteLevelPreTokenizer(bool addPrefixSpace,
                                                        bool useRegex);
std::unique_ptr<PreTokenizer> makeDigitsPreTokenizer(bool individualDigits);
std::unique_ptr<PreTokenizer> makeWhitespaceSplitPreTokenizer();
std::unique_ptr<PreTokenizer> makeCharDelimiterPreTokenizer(uint32_t delim);

enum class PrependScheme { Always, First, Never };
std::unique_ptr<PreTokenizer> makeMetaspacePreTokenizer(uint32_t replacement,
                                                        PrependScheme scheme,
                                                        bool split);
std::unique_ptr<PreTokenizer>
makeSequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps);

//===----------------------------------------------------------------------===//
// Decoders
//===----------------------------------------------------------------------===//

class Decoder {
public:
  virtual ~Decoder();
  virtual void decodeChain(std::vector<std::string> &tokens) const = 0;
};

std::unique_ptr<Decoder> makeByteLevelDecoder();
std::unique_ptr<Decoder> makeReplaceDecoder(std::string pattern,
                                            std::string content);
std::unique_ptr<Decoder> makeByteFallbackDecoder();
std::unique_ptr<Decoder> makeFuseDecoder();
std::unique_ptr<Decoder> makeStripDecoder(uint32_t content, size_t start,
                                          size_t stop);
std::unique_ptr<Decoder> makeMetaspaceDecoder(uint32_t replacement,
                                              PrependScheme scheme);
std::unique_ptr<Decoder>
makeSequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps);

//===----------------------------------------------------------------------===//
// The GPT-2 byte <-> unicode mapping
//===----------------------------------------------------------------------===//

/// The code point that stands for byte `b` in byte-level vocabularies.
uint32_t byteToUnicode(uint8_t b);
/// The byte a code point stands for, or -1.
int unicodeToByte(uint32_t cp);

} // namespace ftl::rt::tok

#endif // FTL_TOKENIZERS_LIB_PIPELINE_H
