//===- FixtureUtil.h - Reading tokenizer fixtures ---------------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Helpers shared by the tokenizer tests: fixture paths and JSONL reading.
/// The fixtures are written by scripts/fixtures/make_tokenizers.py with
/// Hugging Face `tokenizers`.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_TOKENIZERS_UNITTESTS_FIXTUREUTIL_H
#define FTL_TOKENIZERS_UNITTESTS_FIXTUREUTIL_H

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace ftl::rt::testing {

inline std::string fixturePath(llvm::StringRef file) {
  return std::string(FTL_SOURCE_DIR) + "/test/fixtures/tokenizers/" +
         file.str();
}

/// The JSON value of every line of a JSONL fixture (fails the test if the
/// file is missing or a line does not parse).
inline std::vector<llvm::json::Value> readJsonl(llvm::StringRef file) {
  std::vector<llvm::json::Value> rows;
  auto buf = llvm::MemoryBuffer::getFile(fixturePath(file));
  if (!buf) {
    ADD_FAILURE() << "cannot read " << fixturePath(file);
    return rows;
  }
  llvm::StringRef rest = (*buf)->getBuffer();
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    rest = tail;
    if (line.empty())
      continue;
    auto v = llvm::json::parse(line);
    if (!v) {
      ADD_FAILURE() << file.str() << ": " << llvm::toString(v.takeError());
      continue;
    }
    rows.push_back(std::move(*v));
  }
  return rows;
}

inline std::vector<int32_t> idsOf(const llvm::json::Value *v) {
  std::vector<int32_t> ids;
  if (const llvm::json::Array *a = v ? v->getAsArray() : nullptr)
    for (const llvm::json::Value &x : *a)
      ids.push_back(int32_t(x.getAsInteger().value_or(-1)));
  return ids;
}

} // namespace ftl::rt::testing

#endif // FTL_TOKENIZERS_UNITTESTS_FIXTUREUTIL_H
