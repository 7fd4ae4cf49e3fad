//===- Unicode.h - Code points, classes, normalization ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Internal to FTLTokenizers: UTF-8 decoding that never fails (an invalid
/// byte is one "code point" of no class), the character classes the split
/// regexes use (\p{L}, \p{N}, \s), Rust's char::is_alphanumeric, Unicode
/// normalization forms, and Rust's String::from_utf8_lossy.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_LIB_UNICODE_H
#define FTL_TOKENIZERS_LIB_UNICODE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace ftl::rt::unicode {

/// Class bits of a code point (see gen_unicode_tables.py).
enum : uint16_t {
  kLetter = 1,      ///< General_Category L*
  kNumber = 2,      ///< General_Category N* (also Rust's is_numeric)
  kWhiteSpace = 4,  ///< White_Space (\s, Rust's is_whitespace)
  kAlphabetic = 8,  ///< Alphabetic (Rust's is_alphabetic)
  kNfcNotYes = 16,  ///< NFC quick check is No or Maybe
  kNfkcNotYes = 32, ///< NFKC quick check is No or Maybe
  kNfdNotYes = 64,  ///< NFD quick check is No
  kNfkdNotYes = 128 ///< NFKD quick check is No
};
/// Canonical combining class is not 0.
constexpr uint16_t kNonStarter = 256;

/// A value above every code point: what decodeUtf8 returns for a byte that
/// does not start a valid sequence.
constexpr uint32_t kInvalid = 0x110000;

/// Decodes the code point that starts at `s[i]` (i < s.size()); sets `len`
/// to its length in bytes. An invalid or truncated sequence yields kInvalid
/// with len = 1.
inline uint32_t decodeUtf8(llvm::StringRef s, size_t i, unsigned &len) {
  uint8_t b0 = s[i];
  if (b0 < 0x80) {
    len = 1;
    return b0;
  }
  extern uint32_t decodeUtf8Slow(llvm::StringRef s, size_t i, unsigned &len);
  return decodeUtf8Slow(s, i, len);
}

/// Appends the UTF-8 encoding of `cp` (a valid scalar value).
void appendUtf8(uint32_t cp, std::string &out);

/// Class bits of `cp`; 0 for kInvalid.
uint16_t classOf(uint32_t cp);

inline bool isLetter(uint32_t cp) { return classOf(cp) & kLetter; }
inline bool isNumber(uint32_t cp) { return classOf(cp) & kNumber; }
inline bool isWhiteSpace(uint32_t cp) { return classOf(cp) & kWhiteSpace; }
/// Rust's char::is_alphanumeric.
inline bool isAlphanumeric(uint32_t cp) {
  return classOf(cp) & (kAlphabetic | kNumber);
}

/// Canonical combining class.
uint8_t combiningClass(uint32_t cp);

enum class NormForm { NFC, NFD, NFKC, NFKD };

/// Appends `in` normalized to `form` to `out`. Bytes that are not valid
/// UTF-8 are copied unchanged and act as starters.
void normalize(llvm::StringRef in, NormForm form, std::string &out);

/// Appends `bytes` to `out` as Rust's String::from_utf8_lossy does: each
/// maximal invalid subsequence becomes one U+FFFD.
void appendLossyUtf8(llvm::StringRef bytes, std::string &out);

/// Whether `s` is valid UTF-8.
bool isValidUtf8(llvm::StringRef s);

} // namespace ftl::rt::unicode

#endif // FTL_TOKENIZERS_LIB_UNICODE_H
