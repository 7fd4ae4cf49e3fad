//===- DigestTest.cpp - Tensor digests against known SHA-256 values -------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
//
// Expected digests are the FIPS 180-2 test vectors and values from Python's
// hashlib (scripts: `hashlib.sha256(struct.pack('<4f', 1, -2, 0.5,
// 3.25)).hexdigest()`), not output of this library.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Digest.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace ftl::rt;

namespace {
Tensor bytesTensor(llvm::StringRef bytes) {
  Tensor t = Tensor::zeros(DType::U8, {static_cast<int64_t>(bytes.size())});
  if (!bytes.empty())
    std::memcpy(t.mutableData(), bytes.data(), bytes.size());
  return t;
}
} // namespace

TEST(Digest, MatchesFipsVectors) {
  EXPECT_EQ(tensorDigest(bytesTensor("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(tensorDigest(bytesTensor("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(tensorDigest(Tensor()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, HashesLittleEndianFloatBytes) {
  Tensor t = Tensor::fromF32({1.0f, -2.0f, 0.5f, 3.25f}, {2, 2});
  EXPECT_EQ(tensorDigest(t),
            "511521a121d228da0eba54ee5481104dd928880d040adfcf8be1fa42b41138f8");
  // Only the bytes count: a reshape keeps the digest.
  EXPECT_EQ(tensorDigest(t.reshape({4})), tensorDigest(t));
}

TEST(Digest, OneBitChangesTheDigest) {
  Tensor a = Tensor::fromF32({1.0f, 2.0f, 3.0f}, {3});
  Tensor b = a.clone();
  EXPECT_EQ(tensorDigest(a), tensorDigest(b));
  uint8_t *bytes = static_cast<uint8_t *>(b.mutableData());
  bytes[5] ^= 1;
  EXPECT_NE(tensorDigest(a), tensorDigest(b));
}

TEST(Digest, ViewsHashOnlyTheirBytes) {
  Tensor whole = Tensor::fromF32({1.0f, -2.0f, 0.5f, 3.25f, 9.0f}, {5});
  Tensor tail = Tensor::view(whole.getStorage(), 4, DType::F32, {4});
  Tensor head = Tensor::view(whole.getStorage(), 0, DType::F32, {4});
  EXPECT_EQ(tensorDigest(head),
            "511521a121d228da0eba54ee5481104dd928880d040adfcf8be1fa42b41138f8");
  EXPECT_NE(tensorDigest(tail), tensorDigest(head));
}

TEST(Digest, NamedTensorsCoverNamesTypesShapesAndOrder) {
  Tensor x = Tensor::fromF32({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = Tensor::fromF32({7}, {1});
  using List = std::vector<std::pair<std::string, Tensor>>;
  std::string base = namedTensorsDigest(List{{"x", x}, {"y", y}});
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(namedTensorsDigest(List{{"x", x.clone()}, {"y", y.clone()}}), base);
  EXPECT_NE(namedTensorsDigest(List{{"y", y}, {"x", x}}), base);
  EXPECT_NE(namedTensorsDigest(List{{"x2", x}, {"y", y}}), base);
  EXPECT_NE(namedTensorsDigest(List{{"x", x.reshape({3, 2})}, {"y", y}}), base);
  Tensor asInt = Tensor::view(x.getStorage(), 0, DType::I32, {2, 3});
  EXPECT_NE(namedTensorsDigest(List{{"x", asInt}, {"y", y}}), base);
  // Field boundaries are unambiguous: "ab" + "c" differs from "a" + "bc".
  Tensor empty = Tensor::zeros(DType::U8, {0});
  EXPECT_NE(namedTensorsDigest(List{{"ab", empty}, {"c", empty}}),
            namedTensorsDigest(List{{"a", empty}, {"bc", empty}}));
  EXPECT_NE(namedTensorsDigest(List{}), namedTensorsDigest(List{{"", empty}}));
}
