//===- AdaptersTestUtil.h - Helpers shared by the FTLAdapters tests ------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Fixture paths, temporary folders, random tensors, and an independent
// reader of raw safetensors files (std::ifstream + llvm::json, nothing from
// FTLModels) that the tests use as their reference.
//
//===----------------------------------------------------------------------===//

#ifndef FTL_ADAPTERS_UNITTESTS_ADAPTERSTESTUTIL_H
#define FTL_ADAPTERS_UNITTESTS_ADAPTERSTESTUTIL_H

#include "ftl/Adapters/Adapter.h"
#include "ftl/Runtime/Rng.h"
#include "ftl/Runtime/Tensor.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

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

inline std::string modelFixture(llvm::StringRef name) {
  return sourceDir() + "/test/fixtures/models/" + name.str();
}

inline std::string peftFixture(llvm::StringRef name) {
  return sourceDir() + "/test/fixtures/peft/" + name.str();
}

struct TempDir {
  llvm::SmallString<128> path;
  TempDir() {
    EXPECT_FALSE(
        llvm::sys::fs::createUniqueDirectory("ftl-adapters-test", path));
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

/// Copies every file of `from` into `to` (created if needed).
inline void copyDir(llvm::StringRef from, llvm::StringRef to) {
  llvm::sys::fs::create_directories(to);
  for (const std::string &name : listDir(from))
    writeBytes((to + "/" + name).str(), readBytes((from + "/" + name).str()));
}

inline llvm::json::Object readJsonObject(const std::string &path) {
  auto value = llvm::json::parse(readBytes(path));
  if (!value) {
    ADD_FAILURE() << path << ": " << llvm::toString(value.takeError());
    return {};
  }
  return std::move(*value->getAsObject());
}

inline void writeJsonObject(const std::string &path, llvm::json::Object o) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(o));
  os.flush();
  writeBytes(path, text);
}

/// One F32 tensor as the raw file has it.
struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<float> values; // F32 only
  std::string bytes;
};

/// Reads a safetensors file without FTLModels; `metadata` gets the
/// "__metadata__" map when given.
inline std::map<std::string, RawTensor>
readRawSafeTensors(const std::string &path,
                   std::map<std::string, std::string> *metadata = nullptr) {
  std::map<std::string, RawTensor> out;
  std::string bytes = readBytes(path);
  if (bytes.size() < 8) {
    ADD_FAILURE() << "cannot read " << path;
    return out;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  auto header = llvm::json::parse(llvm::StringRef(bytes).substr(8, n));
  if (!header) {
    ADD_FAILURE() << llvm::toString(header.takeError());
    return out;
  }
  for (const auto &kv : *header->getAsObject()) {
    if (kv.first == "__metadata__") {
      if (metadata)
        for (const auto &m : *kv.second.getAsObject())
          (*metadata)[m.first.str()] = m.second.getAsString()->str();
      continue;
    }
    const llvm::json::Object &entry = *kv.second.getAsObject();
    RawTensor t;
    t.dtype = entry.getString("dtype")->str();
    for (const llvm::json::Value &d : *entry.getArray("shape"))
      t.shape.push_back(*d.getAsInteger());
    const llvm::json::Array &offsets = *entry.getArray("data_offsets");
    int64_t begin = *offsets[0].getAsInteger(),
            end = *offsets[1].getAsInteger();
    t.bytes = bytes.substr(8 + n + begin, end - begin);
    if (t.dtype == "F32") {
      t.values.resize(t.bytes.size() / 4);
      std::memcpy(t.values.data(), t.bytes.data(), t.bytes.size());
    }
    out[kv.first.str()] = std::move(t);
  }
  return out;
}

/// The values of any F32 tensor (views of mapped files included).
inline std::vector<float> values(const rt::Tensor &t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  std::memcpy(out.data(), t.data(), out.size() * 4);
  return out;
}

inline std::vector<int64_t> shapeOf(const rt::Tensor &t) {
  return {t.shape().begin(), t.shape().end()};
}

/// Normal(0, stddev) F32 tensor.
inline rt::Tensor randomTensor(rt::Rng &rng, std::vector<int64_t> shape,
                               double stddev = 0.5) {
  rt::Tensor t = rt::Tensor::zeros(rt::DType::F32, shape);
  float *p = t.dataAs<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    p[i] = static_cast<float>(rng.normal() * stddev);
  return t;
}

/// A LoRA pair with random A and B for a weight [out, in].
inline rt::LoraAdapter::Pair randomPair(rt::Rng &rng, int64_t out, int64_t in,
                                        int64_t rank, double alpha) {
  rt::LoraAdapter::Pair p;
  p.A = randomTensor(rng, {rank, in});
  p.B = randomTensor(rng, {out, rank});
  p.rank = rank;
  p.alpha = alpha;
  return p;
}

/// scale * B A computed naively in double, [out, in] row-major.
inline std::vector<double> naiveDelta(const rt::Tensor &A, const rt::Tensor &B,
                                      double scale) {
  std::vector<float> a = values(A), b = values(B);
  int64_t r = A.dim(0), in = A.dim(1), out = B.dim(0);
  std::vector<double> d(static_cast<size_t>(out * in), 0.0);
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j) {
      double s = 0;
      for (int64_t k = 0; k < r; ++k)
        s += static_cast<double>(b[i * r + k]) * a[k * in + j];
      d[i * in + j] = scale * s;
    }
  return d;
}

inline std::string errorText(llvm::Error err) {
  return err ? llvm::toString(std::move(err)) : std::string();
}

template <class T>
std::string errorText(llvm::Expected<T> value) {
  return value ? std::string() : llvm::toString(value.takeError());
}

} // namespace ftl::test

#endif // FTL_ADAPTERS_UNITTESTS_ADAPTERSTESTUTIL_H
