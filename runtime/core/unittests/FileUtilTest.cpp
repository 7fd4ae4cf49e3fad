//===- FileUtilTest.cpp - Atomic writes and SHA-256 -----------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/FileUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

using namespace ftl::rt;
namespace fs = llvm::sys::fs;

namespace {
struct TempDir {
  llvm::SmallString<128> path;
  TempDir() { EXPECT_FALSE(fs::createUniqueDirectory("ftl-fileutil", path)); }
  ~TempDir() { fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(path, ec), end; it != end && !ec;
         it.increment(ec))
      out.push_back(llvm::sys::path::filename(it->path()).str());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "<missing>";
  return (*buffer)->getBuffer().str();
}
} // namespace

TEST(FileUtil, WriteFileAtomicallyCreatesAndReplaces) {
  TempDir dir;
  std::string path = dir.file("out.txt");
  ASSERT_FALSE(bool(writeFileAtomically(path, "first")));
  EXPECT_EQ(readFile(path), "first");
  ASSERT_FALSE(bool(writeFileAtomically(path, [](llvm::raw_ostream &os) {
    os << "second " << 2;
    return llvm::Error::success();
  })));
  EXPECT_EQ(readFile(path), "second 2");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(FileUtil, FailedWriteKeepsOldFileAndLeavesNoTemp) {
  TempDir dir;
  std::string path = dir.file("keep.txt");
  ASSERT_FALSE(bool(writeFileAtomically(path, "old content")));
  llvm::Error err = writeFileAtomically(path, [](llvm::raw_ostream &os) {
    os << "half of the new conte";
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "writer gave up");
  });
  ASSERT_TRUE(bool(err));
  EXPECT_EQ(toString(std::move(err)), "writer gave up");
  EXPECT_EQ(readFile(path), "old content");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.txt"});
}

TEST(FileUtil, WriteIntoMissingFolderFailsWithPath) {
  llvm::Error err = writeFileAtomically("/nonexistent-ftl-dir/x.txt", "data");
  ASSERT_TRUE(bool(err));
  std::string message = toString(std::move(err));
  EXPECT_NE(message.find("cannot write '/nonexistent-ftl-dir/x.txt'"),
            std::string::npos)
      << message;
}

TEST(FileUtil, Sha256KnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(sha256Hex(llvm::StringRef("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex(llvm::StringRef("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex(llvm::StringRef(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  TempDir dir;
  std::string path = dir.file("million-a");
  ASSERT_FALSE(bool(writeFileAtomically(path, std::string(1000000, 'a'))));
  auto hash = sha256File(path);
  ASSERT_TRUE(bool(hash)) << toString(hash.takeError());
  EXPECT_EQ(*hash,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Larger than the 1 MiB read chunk.
  std::string big;
  for (int64_t i = 0; i < 400000; ++i)
    big += std::to_string(i * 7919 % 1000003);
  ASSERT_GT(big.size(), (size_t(1) << 21));
  ASSERT_FALSE(bool(writeFileAtomically(path, big)));
  hash = sha256File(path);
  ASSERT_TRUE(bool(hash));
  EXPECT_EQ(*hash, sha256Hex(llvm::StringRef(big)));
  auto missing = sha256File(dir.file("nope"));
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(toString(missing.takeError()).find("cannot open"),
            std::string::npos);
}

TEST(FileUtil, ReplaceDirectorySwapsWholeFolders) {
  TempDir dir;
  std::string target = dir.file("model");
  auto tmp = createSiblingTempDir(target);
  ASSERT_TRUE(bool(tmp)) << toString(tmp.takeError());
  EXPECT_EQ(llvm::sys::path::parent_path(*tmp), dir.path);
  ASSERT_FALSE(bool(writeFileAtomically(*tmp + "/a.txt", "v1")));
  ASSERT_FALSE(bool(replaceDirectory(*tmp, target)));
  EXPECT_EQ(readFile(target + "/a.txt"), "v1");

  auto tmp2 = createSiblingTempDir(target);
  ASSERT_TRUE(bool(tmp2));
  ASSERT_FALSE(bool(writeFileAtomically(*tmp2 + "/b.txt", "v2")));
  ASSERT_FALSE(bool(replaceDirectory(*tmp2, target)));
  EXPECT_EQ(readFile(target + "/b.txt"), "v2");
  EXPECT_FALSE(fs::exists(target + "/a.txt")); // the old folder is gone
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"model"});

  std::string file = dir.file("plain-file");
  ASSERT_FALSE(bool(writeFileAtomically(file, "x")));
  auto tmp3 = createSiblingTempDir(file);
  ASSERT_TRUE(bool(tmp3));
  llvm::Error err = replaceDirectory(*tmp3, file);
  ASSERT_TRUE(bool(err));
  EXPECT_NE(toString(std::move(err)).find("exists and is not a folder"),
            std::string::npos);
  ASSERT_FALSE(bool(removeDirectoryTree(*tmp3)));
  EXPECT_FALSE(fs::exists(*tmp3));

  // A symbolic link is not followed (deleting the "old" folder would delete
  // what it points to).
  std::string link = dir.file("link");
  ASSERT_FALSE(fs::create_link(target, link));
  auto tmp4 = createSiblingTempDir(link);
  ASSERT_TRUE(bool(tmp4));
  llvm::Error linkErr = replaceDirectory(*tmp4, link);
  ASSERT_TRUE(bool(linkErr));
  EXPECT_NE(toString(std::move(linkErr)).find("is a symbolic link"),
            std::string::npos);
  EXPECT_EQ(readFile(target + "/b.txt"), "v2");
  ASSERT_FALSE(bool(removeDirectoryTree(*tmp4)));
}

TEST(FileUtil, SiblingTempDirOfARelativePathIsASibling) {
  // A relative path must not end up under the system temp folder.
  TempDir dir;
  llvm::SmallString<256> cwd;
  ASSERT_FALSE(fs::current_path(cwd));
  ASSERT_FALSE(fs::set_current_path(dir.path));
  auto tmp = createSiblingTempDir("relative-target");
  ASSERT_FALSE(fs::set_current_path(cwd));
  ASSERT_TRUE(bool(tmp)) << toString(tmp.takeError());
  llvm::SmallString<256> real, expected;
  ASSERT_FALSE(fs::real_path(llvm::sys::path::parent_path(*tmp), real));
  ASSERT_FALSE(fs::real_path(dir.path, expected));
  EXPECT_EQ(real, expected);
  ASSERT_FALSE(bool(removeDirectoryTree(*tmp)));
}
