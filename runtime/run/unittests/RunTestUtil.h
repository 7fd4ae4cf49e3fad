//===- RunTestUtil.h - Shared helpers for the run library tests -*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Temporary folders and small file helpers for the runtime/run tests.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUN_UNITTESTS_RUNTESTUTIL_H
#define FTL_RUN_UNITTESTS_RUNTESTUTIL_H

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace ftl::rt::test {

/// A fresh folder under the system temp folder, deleted with everything in
/// it when the object goes away.
class TempDir {
public:
  explicit TempDir(llvm::StringRef prefix = "ftl-run-test");
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  const std::string &path() const { return root; }
  /// `path()/relative`.
  std::string file(llvm::StringRef relative) const;

private:
  std::string root;
};

/// Writes `contents` to `path`, creating parent folders. Fails the test on
/// error.
void writeFile(llvm::StringRef path, llvm::StringRef contents);
/// The file's bytes, or "<missing>".
std::string readFile(llvm::StringRef path);
/// Names in a folder, sorted.
std::vector<std::string> listDir(llvm::StringRef path);

} // namespace ftl::rt::test

#endif // FTL_RUN_UNITTESTS_RUNTESTUTIL_H
