//===- ftl/Data/TokenCache.h - On-disk cache of tokenized data --*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Tokenized examples and packed rows cached on disk, keyed by a content hash
/// of the data files' bytes, the tokenizer's fingerprint and the canonical
/// description of the operator chain (paths are not part of the key). A
/// second run of the same pipeline memory-maps the cached file. Files are
/// versioned, checksummed and validated on load; a corrupt or foreign file
/// is reported, deleted and rebuilt, never trusted. Writes are atomic
/// (temporary file + rename). Format: docs/data.md.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_TOKENCACHE_H
#define FTL_DATA_TOKENCACHE_H

#include "ftl/Data/Tokenize.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace ftl::rt {

class Tokenizer;

struct CacheOutcome {
  enum class Kind { Hit, Miss, Rebuilt };
  Kind kind = Kind::Miss;
  /// The cache file used.
  std::string path;
  /// Why an existing file was rebuilt (Rebuilt only).
  std::string reason;
};

class TokenCache {
public:
  /// A cache in `dir`, created if missing. Empty `dir`: $FTL_CACHE_DIR, else
  /// $HOME/.cache/ftl/tokens.
  static llvm::Expected<TokenCache> open(llvm::StringRef dir = "");
  static std::string defaultDirectory();

  const std::string &directory() const { return dir; }

  /// Lowercase hex SHA-256 over the format version, data.describe(true), an
  /// xxh3-128 content hash of each data file, the tokenizer's fingerprint and
  /// `stage`. Errors: a data file that cannot be read.
  static llvm::Expected<std::string>
  key(const Dataset &data, const Tokenizer &tokenizer, llvm::StringRef stage);

  /// Tokenized examples of `data`: from a valid cache file, else tokenized
  /// (with options.threads) into a new file that is then read back.
  llvm::Expected<std::unique_ptr<ExampleStream>>
  examples(DatasetRef data, const Tokenizer &tokenizer,
           const TokenizeOptions &options, const DataContext &ctx,
           CacheOutcome *outcome = nullptr) const;

  /// Tokenized and packed rows, likewise.
  llvm::Expected<std::unique_ptr<RowStream>>
  packedRows(DatasetRef data, const Tokenizer &tokenizer,
             const TokenizeOptions &options, const PackOptions &pack,
             const DataContext &ctx, CacheOutcome *outcome = nullptr) const;

private:
  explicit TokenCache(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
};

/// Low-level file access (tests, tools). `keyTag` is checked on load.
llvm::Error writeExampleCache(llvm::StringRef path, llvm::StringRef keyTag,
                              ExampleStream &examples);
llvm::Error writeRowCache(llvm::StringRef path, llvm::StringRef keyTag,
                          int64_t seqLen, RowStream &rows);
/// Errors say what is wrong with the file ("checksum mismatch", "truncated",
/// ...).
llvm::Expected<std::unique_ptr<ExampleStream>>
openExampleCache(llvm::StringRef path, llvm::StringRef keyTag);
llvm::Expected<std::unique_ptr<RowStream>> openRowCache(llvm::StringRef path,
                                                        llvm::StringRef keyTag);

} // namespace ftl::rt

#endif // FTL_DATA_TOKENCACHE_H
