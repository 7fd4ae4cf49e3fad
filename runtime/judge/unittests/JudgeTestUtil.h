//===- JudgeTestUtil.h - Shared helpers for the judge tests -----*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Temporary folders and item builders for the runtime/judge tests.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_JUDGE_UNITTESTS_JUDGETESTUTIL_H
#define FTL_JUDGE_UNITTESTS_JUDGETESTUTIL_H

#include "ftl/Judge/Judge.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <string>

namespace ftl::rt::test {

/// A fresh folder, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    llvm::SmallString<128> dir;
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("ftl-judge-test", dir);
    EXPECT_FALSE(ec) << ec.message();
    root = std::string(dir.str());
  }
  ~TempDir() { llvm::sys::fs::remove_directories(root); }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return root; }
  std::string file(llvm::StringRef name) const {
    return root + "/" + name.str();
  }

private:
  std::string root;
};

/// The message of a failed Expected (taking its error), or "" on success.
template <typename T>
std::string errorOf(llvm::Expected<T> &value) {
  if (value)
    return "";
  return llvm::toString(value.takeError());
}

inline JudgeItem item(std::string prompt, std::string sample,
                      std::string reference) {
  return JudgeItem{std::move(prompt), std::move(sample), std::move(reference)};
}

} // namespace ftl::rt::test

#endif // FTL_JUDGE_UNITTESTS_JUDGETESTUTIL_H
