//===- FileUtil.cpp - Atomic writes and hashing ---------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/FileUtil.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

using namespace ftl::rt;
namespace fs = llvm::sys::fs;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// fsync the folder holding `path` so a rename inside it is durable.
static void syncParentDir(llvm::StringRef path) {
  llvm::SmallString<256> parent(llvm::sys::path::parent_path(path));
  if (parent.empty())
    parent = ".";
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  (void)::fsync(fd);
  ::close(fd);
}

llvm::Error ftl::rt::writeFileAtomically(
    llvm::StringRef path,
    const std::function<llvm::Error(llvm::raw_ostream &)> &write) {
  int fd = -1;
  llvm::SmallString<256> tmpPath;
  if (std::error_code ec =
          fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, tmpPath))
    return makeError("cannot write '" + path + "': " + ec.message());

  llvm::Error result = llvm::Error::success();
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/false);
    result = write(os);
    os.flush();
    if (!result && os.has_error())
      result =
          makeError("cannot write '" + path + "': " + os.error().message());
    os.clear_error();
  }
  if (!result && ::fsync(fd) != 0)
    result = makeError("cannot write '" + path +
                       "': fsync failed: " + std::strerror(errno));
  if (::close(fd) != 0 && !result)
    result = makeError("cannot write '" + path +
                       "': close failed: " + std::strerror(errno));
  if (!result) {
    if (std::error_code ec = fs::rename(tmpPath, path))
      result = makeError("cannot write '" + path +
                         "': rename failed: " + ec.message());
  }
  if (result) {
    fs::remove(tmpPath);
    return result;
  }
  syncParentDir(path);
  return llvm::Error::success();
}

llvm::Error ftl::rt::writeFileAtomically(llvm::StringRef path,
                                         llvm::StringRef contents) {
  return writeFileAtomically(path, [&](llvm::raw_ostream &os) {
    os << contents;
    return llvm::Error::success();
  });
}

llvm::Expected<std::string>
ftl::rt::createSiblingTempDir(llvm::StringRef finalPath) {
  llvm::SmallString<256> result;
  // createUniqueDirectory puts a relative prefix under the system temp
  // folder: make it absolute so the sibling really is a sibling.
  llvm::SmallString<256> prefix(finalPath);
  if (std::error_code ec = fs::make_absolute(prefix))
    return makeError("cannot resolve '" + finalPath + "': " + ec.message());
  prefix += ".tmp";
  if (std::error_code ec = fs::createUniqueDirectory(prefix, result))
    return makeError("cannot create a temporary folder next to '" + finalPath +
                     "': " + ec.message());
  return std::string(result);
}

llvm::Error ftl::rt::replaceDirectory(llvm::StringRef readyDir,
                                      llvm::StringRef finalPath) {
  if (fs::is_symlink_file(finalPath))
    return makeError("cannot replace '" + finalPath +
                     "': it is a symbolic link; give the folder it points to");
  fs::file_status status;
  std::error_code statusEc = fs::status(finalPath, status);
  bool exists = !statusEc && fs::exists(status);
  if (exists && !fs::is_directory(status))
    return makeError("cannot replace '" + finalPath +
                     "': it exists and is not a folder");
  if (!exists) {
    if (std::error_code ec = fs::rename(readyDir, finalPath))
      return makeError("cannot move '" + readyDir + "' to '" + finalPath +
                       "': " + ec.message());
    syncParentDir(finalPath);
    return llvm::Error::success();
  }
  std::string readyStr = readyDir.str(), finalStr = finalPath.str();
#ifdef RENAME_EXCHANGE
  // Atomic swap: the final name never disappears.
  if (::renameat2(AT_FDCWD, readyStr.c_str(), AT_FDCWD, finalStr.c_str(),
                  RENAME_EXCHANGE) == 0) {
    syncParentDir(finalPath);
    return removeDirectoryTree(readyDir); // now holds the old folder
  }
#endif
  // Fallback: move the old folder aside first, then move the new one in.
  llvm::SmallString<256> oldPath;
  for (int attempt = 0;; ++attempt) {
    oldPath = finalPath;
    oldPath +=
        ".old-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
    if (!fs::exists(oldPath))
      break;
  }
  if (std::error_code ec = fs::rename(finalPath, oldPath))
    return makeError("cannot move the old '" + finalPath +
                     "' aside: " + ec.message());
  if (std::error_code ec = fs::rename(readyDir, finalPath)) {
    (void)fs::rename(oldPath, finalPath);
    return makeError("cannot move '" + readyDir + "' to '" + finalPath +
                     "': " + ec.message());
  }
  syncParentDir(finalPath);
  return removeDirectoryTree(oldPath);
}

llvm::Error ftl::rt::removeDirectoryTree(llvm::StringRef path) {
  if (!fs::exists(path))
    return llvm::Error::success();
  if (std::error_code ec = fs::remove_directories(path, /*IgnoreErrors=*/false))
    return makeError("cannot delete folder '" + path + "': " + ec.message());
  return llvm::Error::success();
}

llvm::Expected<std::string> ftl::rt::sha256File(llvm::StringRef path) {
  auto fileOrErr = fs::openNativeFileForRead(path);
  if (!fileOrErr)
    return makeError("cannot open '" + path +
                     "': " + toString(fileOrErr.takeError()));
  fs::file_t file = *fileOrErr;
  llvm::SHA256 hasher;
  llvm::SmallVector<char, 0> buffer;
  buffer.resize_for_overwrite(1 << 20);
  while (true) {
    auto readOrErr = fs::readNativeFile(file, buffer);
    if (!readOrErr) {
      fs::closeFile(file);
      return makeError("cannot read '" + path +
                       "': " + toString(readOrErr.takeError()));
    }
    if (*readOrErr == 0)
      break;
    hasher.update(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(buffer.data()), *readOrErr));
  }
  fs::closeFile(file);
  return llvm::toHex(hasher.final(), /*LowerCase=*/true);
}

std::string ftl::rt::sha256Hex(llvm::ArrayRef<uint8_t> bytes) {
  return llvm::toHex(llvm::SHA256::hash(bytes), /*LowerCase=*/true);
}

std::string ftl::rt::sha256Hex(llvm::StringRef bytes) {
  return sha256Hex(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
}
