//===- ftl/Runtime/FileUtil.h - Atomic writes and hashing -------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Crash-safe file and folder replacement, and SHA-256 hashing. A file written
/// with `writeFileAtomically` either has its old content or the complete new
/// content under its final name, never a prefix.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUNTIME_FILEUTIL_H
#define FTL_RUNTIME_FILEUTIL_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace ftl::rt {

/// Writes `path` by calling `write` on a temporary file in the same folder,
/// flushing and fsync-ing it, then renaming it over `path` (and fsync-ing the
/// folder). If `write` fails or any step fails, the temporary file is removed,
/// `path` is left untouched and the error is returned.
llvm::Error writeFileAtomically(
    llvm::StringRef path,
    const std::function<llvm::Error(llvm::raw_ostream &)> &write);

/// Shorthand for writing a whole string atomically.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef contents);

/// Creates a new, empty, uniquely named folder next to `finalPath`
/// ("<finalPath>.tmp-XXXXXX") and returns its path.
llvm::Expected<std::string> createSiblingTempDir(llvm::StringRef finalPath);

/// Moves the complete folder `readyDir` to `finalPath`. If `finalPath` exists
/// it is replaced only now (the old folder is swapped out and then deleted),
/// so a crash leaves either the old or the new folder under `finalPath`.
/// `readyDir` should come from `createSiblingTempDir(finalPath)`.
llvm::Error replaceDirectory(llvm::StringRef readyDir,
                             llvm::StringRef finalPath);

/// Deletes a folder and everything in it (no error if it does not exist).
llvm::Error removeDirectoryTree(llvm::StringRef path);

/// Lowercase hex SHA-256 of the file's bytes.
llvm::Expected<std::string> sha256File(llvm::StringRef path);

/// Lowercase hex SHA-256 of `bytes`.
std::string sha256Hex(llvm::ArrayRef<uint8_t> bytes);
std::string sha256Hex(llvm::StringRef bytes);

} // namespace ftl::rt

#endif // FTL_RUNTIME_FILEUTIL_H
