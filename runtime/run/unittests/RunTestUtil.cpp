//===- RunTestUtil.cpp - Shared helpers for the run library tests ---------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "RunTestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace ftl::rt::test;
namespace fs = llvm::sys::fs;

TempDir::TempDir(llvm::StringRef prefix) {
  llvm::SmallString<128> path;
  std::error_code ec = fs::createUniqueDirectory(prefix, path);
  EXPECT_FALSE(ec) << ec.message();
  root = std::string(path);
}

TempDir::~TempDir() { fs::remove_directories(root); }

std::string TempDir::file(llvm::StringRef relative) const {
  llvm::SmallString<128> path(root);
  llvm::sys::path::append(path, relative);
  return std::string(path);
}

void ftl::rt::test::writeFile(llvm::StringRef path, llvm::StringRef contents) {
  std::error_code ec =
      fs::create_directories(llvm::sys::path::parent_path(path));
  ASSERT_FALSE(ec) << ec.message();
  llvm::raw_fd_ostream os(path, ec);
  ASSERT_FALSE(ec) << ec.message();
  os << contents;
}

std::string ftl::rt::test::readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return "<missing>";
  return (*buffer)->getBuffer().str();
}

std::vector<std::string> ftl::rt::test::listDir(llvm::StringRef path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(names.begin(), names.end());
  return names;
}
