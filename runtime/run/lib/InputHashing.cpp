//===- InputHashing.cpp - SHA-256 of run inputs, in parallel, cached ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Model folders hold gigabytes and SHA-256 runs at a few hundred MB/s per
// core, so files are hashed on several threads and hashes of unchanged files
// (same size, modification time, device and inode) are reused from a small
// JSON cache next to the runs. A file modified less than two seconds before
// it was hashed is not cached: a later write within the same timestamp
// granularity could otherwise go unnoticed.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/RunFolder.h"

#include "JsonText.h"
#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

using namespace ftl::rt;
using llvm::StringRef;
using llvm::Twine;
namespace fs = llvm::sys::fs;
namespace json = llvm::json;

static llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
struct FileFacts {
  uint64_t bytes = 0;
  int64_t mtimeNs = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
};

struct Entry {
  std::string role;
  std::string path;
  FileFacts facts;
  std::string sha256;
};
} // namespace

static llvm::Expected<FileFacts> statFile(StringRef path) {
  fs::file_status status;
  if (std::error_code ec = fs::status(path, status, /*Follow=*/true))
    return makeError("cannot read '" + path + "': " + ec.message());
  FileFacts facts;
  facts.bytes = status.getSize();
  facts.mtimeNs = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      status.getLastModificationTime().time_since_epoch())
                      .count();
  facts.device = status.getUniqueID().getDevice();
  facts.inode = status.getUniqueID().getFile();
  return facts;
}

static bool isHidden(StringRef path) {
  return llvm::sys::path::filename(path).starts_with(".");
}

/// Adds the files `input` stands for to `out`.
static llvm::Error expandInput(const RunInput &input, std::vector<Entry> &out) {
  llvm::SmallString<256> real;
  if (std::error_code ec =
          fs::real_path(input.path, real, /*expand_tilde=*/true))
    return makeError("input '" + input.path + "' (" + input.role +
                     ") cannot be read: " + ec.message());
  if (!fs::is_directory(real)) {
    out.push_back({input.role, std::string(real), {}, {}});
    return llvm::Error::success();
  }
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(real, ec, /*follow_symlinks=*/true),
       end;
       it != end && !ec; it.increment(ec)) {
    if (isHidden(it->path())) {
      it.no_push();
      continue;
    }
    llvm::ErrorOr<fs::basic_file_status> status = it->status();
    if (status && fs::is_regular_file(*status))
      files.push_back(it->path());
  }
  if (ec)
    return makeError("cannot list input folder '" + input.path + "' (" +
                     input.role + "): " + ec.message());
  if (files.empty())
    return makeError("input folder '" + input.path + "' (" + input.role +
                     ") holds no files");
  std::sort(files.begin(), files.end());
  for (std::string &file : files)
    out.push_back({input.role, std::move(file), {}, {}});
  return llvm::Error::success();
}

namespace {
/// path -> (facts, sha256) read from and written to the cache file.
class HashCache {
public:
  void load(StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer)
      return;
    llvm::Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
    if (!parsed) {
      llvm::consumeError(parsed.takeError());
      return;
    }
    const json::Object *root = parsed->getAsObject();
    const json::Object *files = root ? root->getObject("files") : nullptr;
    if (!files || root->getInteger("version") != std::optional<int64_t>(1))
      return;
    for (const auto &[key, value] : *files) {
      const json::Object *item = value.getAsObject();
      if (!item)
        continue;
      std::optional<int64_t> bytes = item->getInteger("bytes");
      std::optional<int64_t> mtime = item->getInteger("mtime_ns");
      std::optional<int64_t> device = item->getInteger("device");
      std::optional<int64_t> inode = item->getInteger("inode");
      std::optional<StringRef> sha = item->getString("sha256");
      if (!bytes || !mtime || !device || !inode || !sha || sha->size() != 64)
        continue;
      Cached &cached = entries[key.str()];
      cached.facts = {static_cast<uint64_t>(*bytes), *mtime,
                      static_cast<uint64_t>(*device),
                      static_cast<uint64_t>(*inode)};
      cached.sha256 = sha->str();
    }
  }

  std::optional<std::string> lookup(StringRef path,
                                    const FileFacts &facts) const {
    auto it = entries.find(path);
    if (it == entries.end())
      return std::nullopt;
    const FileFacts &c = it->second.facts;
    if (c.bytes != facts.bytes || c.mtimeNs != facts.mtimeNs ||
        c.device != facts.device || c.inode != facts.inode)
      return std::nullopt;
    return it->second.sha256;
  }

  void store(StringRef path, const FileFacts &facts, StringRef sha256) {
    entries[path] = {facts, sha256.str()};
  }

  /// Writes the entries whose files still exist; failures are ignored (the
  /// cache only saves time).
  void save(StringRef path) const {
    json::Object files;
    for (const auto &entry : entries) {
      if (!fs::exists(entry.getKey()))
        continue;
      const FileFacts &f = entry.getValue().facts;
      files[entry.getKey()] =
          json::Object{{"bytes", static_cast<int64_t>(f.bytes)},
                       {"mtime_ns", f.mtimeNs},
                       {"device", static_cast<int64_t>(f.device)},
                       {"inode", static_cast<int64_t>(f.inode)},
                       {"sha256", entry.getValue().sha256}};
    }
    json::Object root{{"version", 1}, {"files", std::move(files)}};
    llvm::consumeError(writeFileAtomically(
        path, detail::toJsonText(json::Value(std::move(root)), 1) + "\n"));
  }

private:
  struct Cached {
    FileFacts facts;
    std::string sha256;
  };
  llvm::StringMap<Cached> entries;
};
} // namespace

llvm::Expected<json::Array>
ftl::rt::hashInputs(const std::vector<RunInput> &inputs, unsigned threads,
                    StringRef cachePath) {
  std::vector<Entry> entries;
  for (const RunInput &input : inputs)
    if (llvm::Error error = expandInput(input, entries))
      return std::move(error);
  for (Entry &entry : entries) {
    llvm::Expected<FileFacts> facts = statFile(entry.path);
    if (!facts)
      return facts.takeError();
    entry.facts = *facts;
  }

  HashCache cache;
  if (!cachePath.empty())
    cache.load(cachePath);
  // Files to hash, each once even when listed under several roles.
  llvm::StringMap<size_t> firstIndex;
  std::vector<size_t> todo;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (std::optional<std::string> sha =
            cache.lookup(entries[i].path, entries[i].facts)) {
      entries[i].sha256 = *sha;
      continue;
    }
    if (firstIndex.try_emplace(entries[i].path, i).second)
      todo.push_back(i);
  }

  int64_t hashStartNs = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::vector<std::string> errors(entries.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k = next.fetch_add(1); k < todo.size(); k = next.fetch_add(1)) {
      Entry &entry = entries[todo[k]];
      llvm::Expected<std::string> sha = sha256File(entry.path);
      if (sha)
        entry.sha256 = std::move(*sha);
      else
        errors[todo[k]] = llvm::toString(sha.takeError());
    }
  };
  if (threads == 0)
    threads = std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
  size_t workers = std::min<size_t>(threads, todo.size());
  std::vector<std::thread> pool;
  for (size_t i = 1; i < workers; ++i)
    pool.emplace_back(worker);
  worker();
  for (std::thread &thread : pool)
    thread.join();
  for (size_t i = 0; i < entries.size(); ++i)
    if (!errors[i].empty())
      return makeError("cannot hash input '" + entries[i].path + "' (" +
                       entries[i].role + "): " + errors[i]);

  constexpr int64_t kRacyNs = 2'000'000'000;
  for (size_t i : todo) {
    // The file must not have changed while it was hashed.
    llvm::Expected<FileFacts> after = statFile(entries[i].path);
    if (!after)
      return after.takeError();
    const FileFacts &before = entries[i].facts;
    if (after->bytes != before.bytes || after->mtimeNs != before.mtimeNs)
      return makeError("input '" + entries[i].path + "' (" + entries[i].role +
                       ") changed while it was being hashed; run again "
                       "once nothing writes to it");
    if (before.mtimeNs < hashStartNs - kRacyNs)
      cache.store(entries[i].path, before, entries[i].sha256);
  }
  for (Entry &entry : entries)
    if (entry.sha256.empty())
      entry.sha256 = entries[firstIndex.lookup(entry.path)].sha256;
  if (!cachePath.empty() && !todo.empty())
    cache.save(cachePath);

  json::Array result;
  for (const Entry &entry : entries)
    result.push_back(
        json::Object{{"role", entry.role},
                     {"path", entry.path},
                     {"bytes", static_cast<int64_t>(entry.facts.bytes)},
                     {"sha256", entry.sha256}});
  return result;
}
