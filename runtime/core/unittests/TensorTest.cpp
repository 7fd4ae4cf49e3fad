//===- TensorTest.cpp - Tests for DType, Storage and Tensor ---------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/Tensor.h"
#include "ftl/Runtime/Half.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace ftl::rt;

namespace {
std::string writeTempFile(llvm::StringRef contents) {
  llvm::SmallString<128> path;
  int fd;
  EXPECT_FALSE(
      llvm::sys::fs::createTemporaryFile("ftl-tensor", "bin", fd, path));
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << contents;
  return std::string(path);
}
} // namespace

TEST(DType, NamesSizesAndParsing) {
  struct Row {
    DType type;
    const char *name;
    size_t size;
  } rows[] = {{DType::F32, "F32", 4},   {DType::F16, "F16", 2},
              {DType::BF16, "BF16", 2}, {DType::F64, "F64", 8},
              {DType::I64, "I64", 8},   {DType::I32, "I32", 4},
              {DType::I16, "I16", 2},   {DType::I8, "I8", 1},
              {DType::U8, "U8", 1},     {DType::Bool, "BOOL", 1}};
  for (const Row &row : rows) {
    EXPECT_EQ(dtypeName(row.type), row.name);
    EXPECT_EQ(dtypeSize(row.type), row.size);
    EXPECT_EQ(parseDType(row.name), row.type);
    EXPECT_NE(allDTypeNames().find(row.name), llvm::StringRef::npos);
  }
  EXPECT_FALSE(parseDType("f32"));
  EXPECT_FALSE(parseDType("F8_E4M3"));
  EXPECT_FALSE(parseDType(""));
  EXPECT_TRUE(isFloatingPoint(DType::BF16));
  EXPECT_FALSE(isFloatingPoint(DType::I8));
}

TEST(Tensor, ZerosAreZeroAlignedAndWritable) {
  Tensor t = Tensor::zeros(DType::F32, {3, 5});
  ASSERT_TRUE(t.valid());
  EXPECT_EQ(t.rank(), 2u);
  EXPECT_EQ(t.dim(0), 3);
  EXPECT_EQ(t.dim(1), 5);
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_TRUE(t.isWritable());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(t.dataAs<float>()[i], 0.0f);
  Tensor scalar = Tensor::zeros(DType::I64, {});
  EXPECT_EQ(scalar.rank(), 0u);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.nbytes(), 8u);
  Tensor empty = Tensor::zeros(DType::F16, {0, 7});
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_EQ(empty.nbytes(), 0u);
  EXPECT_FALSE(Tensor().valid());
}

TEST(Tensor, ViewsReshapesAndClonesShareOrCopy) {
  auto storage = Storage::allocate(64);
  Tensor a = Tensor::view(storage, 16, DType::F32, {2, 2});
  Tensor b = Tensor::view(storage, 16, DType::F32, {4});
  a.dataAs<float>()[3] = 7.5f;
  EXPECT_EQ(b.dataAs<const float>()[3], 7.5f);
  EXPECT_EQ(reinterpret_cast<const float *>(storage->data() + 16)[3], 7.5f);
  Tensor r = a.reshape({1, 4});
  EXPECT_EQ(r.getStorage(), storage);
  EXPECT_EQ(r.data(), a.data());
  EXPECT_EQ(formatShape(r.shape()), "[1, 4]");
  Tensor c = a.clone();
  EXPECT_NE(c.getStorage(), storage);
  EXPECT_TRUE(c.bitwiseEqual(a));
  c.dataAs<float>()[3] = 1.0f;
  EXPECT_EQ(a.dataAs<const float>()[3], 7.5f);
  EXPECT_FALSE(c.bitwiseEqual(a));
}

TEST(Tensor, BitwiseEqualLooksAtDtypeShapeAndBytes) {
  Tensor a = Tensor::fromF32({0.0f, 1.0f}, {2});
  EXPECT_TRUE(a.bitwiseEqual(Tensor::fromF32({0.0f, 1.0f}, {2})));
  EXPECT_FALSE(a.bitwiseEqual(Tensor::fromF32({-0.0f, 1.0f}, {2})));
  EXPECT_FALSE(a.bitwiseEqual(Tensor::fromF32({0.0f, 1.0f}, {1, 2})));
  Tensor asInt = Tensor::view(a.getStorage(), 0, DType::I32, {2});
  EXPECT_FALSE(a.bitwiseEqual(asInt));
}

TEST(Tensor, FloatConversions) {
  std::vector<float> values = {0.0f,  -0.0f,    1.0f,     -2.5f, 65504.0f,
                               1e-7f, 3.14159f, 70000.0f, NAN,   INFINITY};
  Tensor f32 = Tensor::fromF32(values, {2, 5});
  Tensor f16 = f32.to(DType::F16);
  Tensor bf16 = f32.to(DType::BF16);
  Tensor f64 = f32.to(DType::F64);
  EXPECT_EQ(f16.dtype(), DType::F16);
  EXPECT_EQ(f16.shape(), f32.shape());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(f16.dataAs<const uint16_t>()[i], f32ToF16(values[i])) << i;
    EXPECT_EQ(bf16.dataAs<const uint16_t>()[i], f32ToBF16(values[i])) << i;
    double d = f64.dataAs<const double>()[i];
    if (std::isnan(values[i]))
      EXPECT_TRUE(std::isnan(d));
    else
      EXPECT_EQ(d, static_cast<double>(values[i]));
  }
  // Back to f32: f16 values widen exactly; f64 of f32 values narrows exactly.
  Tensor back = f16.to(DType::F32);
  for (size_t i = 0; i < values.size(); ++i) {
    float want = f16ToF32(f32ToF16(values[i]));
    float got = back.dataAs<const float>()[i];
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(got));
    else
      EXPECT_EQ(got, want);
  }
  Tensor viaF64 = f64.to(DType::F32);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isnan(values[i])) {
      EXPECT_EQ(viaF64.dataAs<const float>()[i], values[i]);
    }
  }
  // f16 <-> bf16 goes through an exact widening.
  Tensor hb = f16.to(DType::BF16);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(hb.dataAs<const uint16_t>()[i],
              f32ToBF16(f16ToF32(f16.dataAs<const uint16_t>()[i])));
  // to(same dtype) is a writable copy.
  Tensor same = f32.to(DType::F32);
  EXPECT_NE(same.getStorage(), f32.getStorage());
  EXPECT_TRUE(same.bitwiseEqual(f32));
}

TEST(Tensor, IntegerAndBoolConversions) {
  Tensor f = Tensor::fromF32({-1.9f, 2.9f, 300.0f, -300.0f, NAN, 0.0f}, {6});
  Tensor i8 = f.to(DType::I8);
  const int8_t wantI8[] = {-1, 2, 127, -128, 0, 0};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(i8.dataAs<const int8_t>()[i], wantI8[i]) << i;
  Tensor u8 = f.to(DType::U8);
  const uint8_t wantU8[] = {0, 2, 255, 0, 0, 0};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(u8.dataAs<const uint8_t>()[i], wantU8[i]) << i;
  Tensor b = f.to(DType::Bool);
  const uint8_t wantB[] = {1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(b.dataAs<const uint8_t>()[i], wantB[i]) << i;
  Tensor big = Tensor::zeros(DType::I64, {3});
  big.dataAs<int64_t>()[0] = std::numeric_limits<int64_t>::max();
  big.dataAs<int64_t>()[1] = -5;
  big.dataAs<int64_t>()[2] = 1 << 20;
  Tensor i16 = big.to(DType::I16);
  EXPECT_EQ(i16.dataAs<const int16_t>()[0], 32767);
  EXPECT_EQ(i16.dataAs<const int16_t>()[1], -5);
  EXPECT_EQ(i16.dataAs<const int16_t>()[2], 32767);
  Tensor asF = big.to(DType::F32);
  EXPECT_EQ(asF.dataAs<const float>()[1], -5.0f);
  EXPECT_EQ(asF.dataAs<const float>()[2], 1048576.0f);
  Tensor hugeF = Tensor::fromF32({1e30f, -1e30f}, {2});
  Tensor asI64 = hugeF.to(DType::I64);
  EXPECT_EQ(asI64.dataAs<const int64_t>()[0],
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(asI64.dataAs<const int64_t>()[1],
            std::numeric_limits<int64_t>::min());
}

TEST(Storage, MappedFilesAreReadOnlyViews) {
  // Bytes 1..4 hold the f16 values 1.0 and -2.0 at an odd (misaligned)
  // offset.
  std::string bytes = {'x', 0x00, 0x3C, 0x00, static_cast<char>(0xC0), 'y'};
  std::string path = writeTempFile(bytes);
  auto storage = Storage::mapFile(path);
  ASSERT_TRUE(bool(storage)) << toString(storage.takeError());
  EXPECT_TRUE((*storage)->isMapped());
  EXPECT_FALSE((*storage)->isWritable());
  EXPECT_EQ((*storage)->size(), bytes.size());
  Tensor view = Tensor::view(*storage, 1, DType::F16, {2});
  EXPECT_FALSE(view.isWritable());
  Tensor f32 = view.to(DType::F32);
  EXPECT_EQ(f32.dataAs<const float>()[0], 1.0f);
  EXPECT_EQ(f32.dataAs<const float>()[1], -2.0f);
  Tensor copy = view.clone();
  EXPECT_TRUE(copy.isWritable());
  EXPECT_TRUE(copy.bitwiseEqual(view));
  // The view keeps the mapping alive after every other handle is gone.
  storage = llvm::Expected<std::shared_ptr<Storage>>(nullptr);
  llvm::sys::fs::remove(path);
  EXPECT_EQ(std::memcmp(view.data(), bytes.data() + 1, 4), 0);
}

TEST(Storage, MapFileErrorsNameThePath) {
  auto missing = Storage::mapFile("/nonexistent/ftl/file.bin");
  ASSERT_FALSE(bool(missing));
  std::string message = toString(missing.takeError());
  EXPECT_NE(message.find("cannot open '/nonexistent/ftl/file.bin'"),
            std::string::npos)
      << message;
  std::string empty = writeTempFile("");
  auto emptyMap = Storage::mapFile(empty);
  ASSERT_FALSE(bool(emptyMap));
  message = toString(emptyMap.takeError());
  EXPECT_NE(message.find("the file is empty"), std::string::npos) << message;
  llvm::sys::fs::remove(empty);
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ftl-tensor-dir", dir));
  auto dirMap = Storage::mapFile(dir);
  ASSERT_FALSE(bool(dirMap));
  message = toString(dirMap.takeError());
  EXPECT_NE(message.find(std::string(dir)), std::string::npos) << message;
  llvm::sys::fs::remove(dir);
}
