//===- JsonText.h - JSON text with readable numbers and key order -*- C++
//-*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Private helpers that print `llvm::json` values the way the run folder
/// wants them: doubles in their shortest round-trip form ("0.1", not
/// "0.10000000000000001"), non-finite doubles as `null` (so every line stays
/// valid JSON), and object keys in a chosen order (some keys first, the rest
/// sorted) so manifests and metrics lines read naturally.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_LIB_JSONTEXT_H
#define FTL_RUN_LIB_JSONTEXT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <string>

namespace ftl::rt::detail {

/// The shortest text that reads back as exactly `value`; "null" when it is
/// not finite.
std::string formatJsonNumber(double value);

/// Prints `value`. In every object the keys named in `leadingKeys` come first
/// (in that order, when present) and the others follow sorted. `indent` 0
/// prints everything on one line without spaces; otherwise nested arrays and
/// objects that fit in 72 characters stay on one line (compact).
void writeJson(llvm::raw_ostream &os, const llvm::json::Value &value,
               unsigned indent = 0,
               llvm::ArrayRef<llvm::StringRef> leadingKeys = {});

/// `writeJson` into a string.
std::string toJsonText(const llvm::json::Value &value, unsigned indent = 0,
                       llvm::ArrayRef<llvm::StringRef> leadingKeys = {});

/// "<message> at line L" style description of a parse failure, lowercase.
std::string describeJsonError(llvm::Error error);

} // namespace ftl::rt::detail

#endif // FTL_RUN_LIB_JSONTEXT_H
