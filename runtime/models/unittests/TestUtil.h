//===- TestUtil.h - Helpers shared by the FTLModels tests -----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Temporary folders, fixture paths, and an independent reader of raw
// safetensors bytes (std::ifstream + llvm::json, nothing from FTLModels) that
// the tests use as their reference.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_MODELS_UNITTESTS_TESTUTIL_H
#define FTL_MODELS_UNITTESTS_TESTUTIL_H

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace ftl::test {

inline std::string sourceDir() {
  if (const char *env = std::getenv("FTL_SOURCE_DIR"))
    return env;
  return FTL_SOURCE_DIR;
}

inline std::string fixture(llvm::StringRef name) {
  return sourceDir() + "/test/fixtures/models/" + name.str();
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("ftl-models-test", path));
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<128> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
};

inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::string> listDir(llvm::StringRef dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    out.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(out.begin(), out.end());
  return out;
}

/// Copies every file of `from` into the existing folder `to`.
inline void copyDir(llvm::StringRef from, llvm::StringRef to) {
  for (const std::string &name : listDir(from))
    writeBytes((to + "/" + name).str(), readBytes((from + "/" + name).str()));
}

/// One tensor as the raw file has it.
struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;

  /// Element i as a double (F32, F16 via the IEEE formula, BF16, F64).
  double at(size_t i) const {
    if (dtype == "F32") {
      float f;
      std::memcpy(&f, bytes.data() + 4 * i, 4);
      return f;
    }
    if (dtype == "F64") {
      double d;
      std::memcpy(&d, bytes.data() + 8 * i, 8);
      return d;
    }
    uint16_t h;
    std::memcpy(&h, bytes.data() + 2 * i, 2);
    if (dtype == "BF16") {
      uint32_t x = static_cast<uint32_t>(h) << 16;
      float f;
      std::memcpy(&f, &x, 4);
      return f;
    }
    int exp = (h >> 10) & 31, mant = h & 1023;
    double v =
        exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
    return (h >> 15) ? -v : v;
  }
  size_t numel() const {
    size_t n = 1;
    for (int64_t d : shape)
      n *= static_cast<size_t>(d);
    return n;
  }
};

/// Reads a safetensors file without FTLModels.
inline std::map<std::string, RawTensor>
readRawSafeTensors(const std::string &path) {
  std::map<std::string, RawTensor> out;
  std::string bytes = readBytes(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  auto header = llvm::json::parse(llvm::StringRef(bytes).substr(8, n));
  if (!header) {
    ADD_FAILURE() << toString(header.takeError());
    return out;
  }
  for (const auto &kv : *header->getAsObject()) {
    if (kv.first == "__metadata__")
      continue;
    const llvm::json::Object &entry = *kv.second.getAsObject();
    RawTensor t;
    t.dtype = entry.getString("dtype")->str();
    for (const llvm::json::Value &d : *entry.getArray("shape"))
      t.shape.push_back(*d.getAsInteger());
    const llvm::json::Array &offsets = *entry.getArray("data_offsets");
    int64_t begin = *offsets[0].getAsInteger(),
            end = *offsets[1].getAsInteger();
    t.bytes = bytes.substr(8 + n + begin, end - begin);
    out[kv.first.str()] = std::move(t);
  }
  return out;
}

/// A safetensors file from a header text and data, with the header length
/// field set to the header's size unless `declaredLength` says otherwise.
inline std::string makeSafeTensors(llvm::StringRef header,
                                   llvm::StringRef data = "",
                                   int64_t declaredLength = -1) {
  uint64_t n = declaredLength < 0 ? header.size()
                                  : static_cast<uint64_t>(declaredLength);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  out += header.str();
  out += data.str();
  return out;
}

} // namespace ftl::test

#endif // FTL_MODELS_UNITTESTS_TESTUTIL_H
