//===- TestUtil.h - Helpers for the data library tests ----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A tiny test-only tokenizer with known ids, temporary folders, and
/// shorthands for reading datasets and checking errors.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_DATA_UNITTESTS_TESTUTIL_H
#define FTL_DATA_UNITTESTS_TESTUTIL_H

#include "ftl/Data/Dataset.h"
#include "ftl/Data/Tokenize.h"
#include "ftl/Tokenizers/Tokenizer.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace ftl::rt::test {

/// Characters as tokens: id = byte + 3; 0 = <pad>, 1 = <bos>, 2 = <eos>.
/// encode(x, true) prepends <bos>. Options drop BOS/EOS/pad or make every
/// token two bytes wide ("pairs") so token and byte counts differ.
class CharTokenizer : public Tokenizer {
public:
  bool hasBos = true, hasEos = true, hasPad = true, pairs = false;

  std::vector<int32_t> encode(llvm::StringRef text,
                              bool addSpecial = false) const override {
    std::vector<int32_t> ids;
    if (addSpecial && hasBos)
      ids.push_back(1);
    size_t step = pairs ? 2 : 1;
    for (size_t i = 0; i < text.size(); i += step)
      ids.push_back(3 + static_cast<unsigned char>(text[i]));
    return ids;
  }
  std::string decode(llvm::ArrayRef<int32_t> ids,
                     bool skipSpecial = false) const override {
    std::string out;
    for (int32_t id : ids)
      if (id >= 3)
        out += static_cast<char>(id - 3);
    return out;
  }
  int32_t vocabSize() const override { return 259; }
  std::optional<int32_t> tokenId(llvm::StringRef t) const override {
    return std::nullopt;
  }
  std::optional<int32_t> bosId() const override {
    return hasBos ? std::optional<int32_t>(1) : std::nullopt;
  }
  std::optional<int32_t> eosId() const override {
    return hasEos ? std::optional<int32_t>(2) : std::nullopt;
  }
  std::optional<int32_t> padId() const override {
    return hasPad ? std::optional<int32_t>(0) : std::nullopt;
  }
  std::string fingerprint() const override {
    return std::string("chars:") + (hasBos ? "b" : "") + (hasEos ? "e" : "") +
           (hasPad ? "p" : "") + (pairs ? "2" : "1");
  }
  llvm::StringRef kind() const override { return "test-chars"; }
};

/// Ids of `s` under CharTokenizer (no specials).
inline std::vector<int32_t> charIds(llvm::StringRef s) {
  std::vector<int32_t> out;
  for (char c : s)
    out.push_back(3 + static_cast<unsigned char>(c));
  return out;
}

/// A fresh folder removed at the end of the test.
class TempDir {
public:
  TempDir() {
    llvm::SmallString<128> p;
    std::error_code ec = llvm::sys::fs::createUniqueDirectory("ftl-data", p);
    EXPECT_FALSE(ec) << ec.message();
    path_ = std::string(p);
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path_); }
  const std::string &path() const { return path_; }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path_);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  /// Writes `contents` to `name` and returns its path.
  std::string write(llvm::StringRef name, llvm::StringRef contents) const {
    std::string p = file(name);
    std::ofstream out(p, std::ios::binary);
    out.write(contents.data(), contents.size());
    return p;
  }

private:
  std::string path_;
};

/// The error text of an Expected/Error that must have failed.
template <typename T>
std::string errorOf(llvm::Expected<T> v) {
  if (v) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(v.takeError());
}
inline std::string errorOf(llvm::Error e) {
  if (!e) {
    ADD_FAILURE() << "expected an error";
    return "";
  }
  return llvm::toString(std::move(e));
}

/// Unwraps an Expected that must hold a value.
template <typename T>
T must(llvm::Expected<T> v) {
  if (!v) {
    std::string msg = llvm::toString(v.takeError());
    ADD_FAILURE() << msg;
    if constexpr (std::is_default_constructible_v<T>) {
      return T();
    } else {
      llvm::errs() << "fatal: " << msg << "\n";
      std::abort();
    }
  }
  return std::move(*v);
}

inline std::vector<Record> readRecords(const DatasetRef &d,
                                       const DataContext &ctx = {}) {
  return must(readAll(*d, ctx));
}

/// The string field `name` of every record.
inline std::vector<std::string> column(const std::vector<Record> &rs,
                                       llvm::StringRef name) {
  std::vector<std::string> out;
  for (const Record &r : rs) {
    const Value *v = r.get(name);
    out.push_back(v ? (v->isString() ? v->getString().str() : v->toJson())
                    : "<missing>");
  }
  return out;
}

/// Records {text: s} from strings.
inline DatasetRef textRecords(const std::vector<std::string> &texts,
                              llvm::StringRef field = "text") {
  std::vector<Record> rs;
  for (const std::string &t : texts)
    rs.push_back(Record({Member{field.str(), Value(t)}}));
  return recordsDataset("mem", std::move(rs));
}

inline std::string sourceDir() {
#ifdef FTL_SOURCE_DIR
  return FTL_SOURCE_DIR;
#else
  return ".";
#endif
}

inline std::string fixture(llvm::StringRef rel) {
  return sourceDir() + "/test/fixtures/" + rel.str();
}

} // namespace ftl::rt::test

#endif // FTL_DATA_UNITTESTS_TESTUTIL_H
