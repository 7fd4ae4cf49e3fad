//===- ftl/Data/Json.h - Fast JSON and UTF-8 for JSON lines -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A strict RFC 8259 JSON parser for one JSON-lines record (our own: about
/// 2-3x faster than llvm::json::parse on JSONL, see bench/data), UTF-8
/// validation and repair. Errors carry the byte offset so callers can print
/// "file:line:col".
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_JSON_H
#define FTL_DATA_JSON_H

#include "ftl/Data/Value.h"

#include "llvm/ADT/StringRef.h"

#include <string>

namespace ftl::rt {

struct JsonParseOptions {
  /// Replace invalid UTF-8 inside strings (and unpaired \u surrogates) with
  /// U+FFFD instead of failing.
  bool replaceInvalidUtf8 = false;
  /// Deepest nesting of lists/objects accepted.
  unsigned maxDepth = 128;
};

struct JsonParseError {
  /// Byte offset into the parsed text where the problem is.
  size_t offset = 0;
  /// What is wrong, lowercase, e.g. "expected ':' after an object key,
  /// found '}'".
  std::string message;
  /// True when the problem is invalid UTF-8 (the caller adds file offsets).
  bool invalidUtf8 = false;
};

/// Parses `text` as exactly one JSON value (whitespace around it allowed).
/// Duplicate object keys are an error. Integers that fit int64 become Int,
/// every other number a Double; out-of-range numbers are an error.
/// Returns false and fills `error` on failure.
bool parseJson(llvm::StringRef text, Value &out, JsonParseError &error,
               const JsonParseOptions &options = {});

/// The offset of the first invalid UTF-8 byte in `s`, or npos when valid.
/// Overlong forms, surrogates (U+D800..U+DFFF) and values above U+10FFFF
/// are invalid.
size_t findInvalidUtf8(llvm::StringRef s);

/// `s` with every maximal invalid subsequence replaced by U+FFFD.
std::string repairUtf8(llvm::StringRef s);

/// Appends the UTF-8 encoding of code point `cp` to `out`.
void appendUtf8(std::string &out, uint32_t cp);

} // namespace ftl::rt

#endif // FTL_DATA_JSON_H
