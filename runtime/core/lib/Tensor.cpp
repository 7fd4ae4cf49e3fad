//===- Tensor.cpp - Storage and dense tensors -----------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/Tensor.h"
#include "ftl/Runtime/Half.h"

#include "llvm/Support/FileSystem.h"

#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

using namespace ftl::rt;

//===----------------------------------------------------------------------===//
// Storage
//===----------------------------------------------------------------------===//

struct Storage::Mapping {
  llvm::sys::fs::mapped_file_region region;
};

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0)
    rounded = kAlignment;
  void *memory = std::aligned_alloc(kAlignment, rounded);
  if (!memory)
    llvm::report_fatal_error("out of memory allocating tensor storage");
  std::memset(memory, 0, rounded);
  std::shared_ptr<Storage> storage(new Storage());
  storage->bytes = static_cast<uint8_t *>(memory);
  storage->length = nbytes;
  storage->writable = true;
  return storage;
}

llvm::Expected<std::shared_ptr<Storage>>
Storage::mapFile(llvm::StringRef path) {
  auto fileOrErr = llvm::sys::fs::openNativeFileForRead(path);
  if (!fileOrErr)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot open '" + path.str() +
                                       "': " + toString(fileOrErr.takeError()));
  llvm::sys::fs::file_t file = *fileOrErr;
  llvm::sys::fs::file_status status;
  std::error_code ec = llvm::sys::fs::status(file, status);
  if (!ec && status.type() != llvm::sys::fs::file_type::regular_file) {
    llvm::sys::fs::closeFile(file);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot map '" + path.str() +
                                       "': it is not a regular file");
  }
  if (ec) {
    llvm::sys::fs::closeFile(file);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot read '" + path.str() +
                                       "': " + ec.message());
  }
  size_t size = status.getSize();
  if (size == 0) {
    llvm::sys::fs::closeFile(file);
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot map '" + path.str() +
                                       "': the file is empty");
  }
  auto mapping = std::make_unique<Mapping>();
  mapping->region = llvm::sys::fs::mapped_file_region(
      file, llvm::sys::fs::mapped_file_region::readonly, size, 0, ec);
  llvm::sys::fs::closeFile(file);
  if (ec)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot map '" + path.str() +
                                       "': " + ec.message());
  std::shared_ptr<Storage> storage(new Storage());
  storage->bytes = reinterpret_cast<uint8_t *>(
      const_cast<char *>(mapping->region.const_data()));
  storage->length = size;
  storage->writable = false;
  storage->mapping = std::move(mapping);
  return storage;
}

Storage::~Storage() {
  if (!mapping)
    std::free(bytes);
}

uint8_t *Storage::mutableData() {
  assert(writable && "writing to read-only (mapped) storage");
  return bytes;
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

std::string ftl::rt::formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  out += "]";
  return out;
}

int64_t ftl::rt::shapeNumel(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

Tensor Tensor::zeros(DType type, llvm::ArrayRef<int64_t> shape) {
  Tensor t;
  t.type = type;
  t.dims.assign(shape.begin(), shape.end());
  assert(llvm::all_of(shape, [](int64_t d) { return d >= 0; }));
  t.storage = Storage::allocate(t.nbytes());
  return t;
}

Tensor Tensor::fromF32(llvm::ArrayRef<float> values,
                       llvm::ArrayRef<int64_t> shape) {
  Tensor t = zeros(DType::F32, shape);
  assert(static_cast<size_t>(t.numel()) == values.size());
  if (!values.empty())
    std::memcpy(t.mutableData(), values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::view(std::shared_ptr<Storage> storage, size_t offset, DType type,
                    llvm::ArrayRef<int64_t> shape) {
  Tensor t;
  t.type = type;
  t.dims.assign(shape.begin(), shape.end());
  t.offset = offset;
  assert(storage && offset <= storage->size() &&
         t.nbytes() <= storage->size() - offset && "view out of bounds");
  t.storage = std::move(storage);
  return t;
}

void *Tensor::mutableData() {
  assert(isWritable() && "writing to a read-only tensor; clone() it first");
  return storage->mutableData() + offset;
}

Tensor Tensor::clone() const {
  Tensor t = zeros(type, dims);
  size_t n = nbytes();
  if (n)
    std::memcpy(t.mutableData(), data(), n);
  return t;
}

Tensor Tensor::reshape(llvm::ArrayRef<int64_t> newShape) const {
  assert(shapeNumel(newShape) == numel() && "reshape changes numel");
  Tensor t = *this;
  t.dims.assign(newShape.begin(), newShape.end());
  return t;
}

bool Tensor::bitwiseEqual(const Tensor &other) const {
  if (type != other.type || shape() != other.shape())
    return false;
  size_t n = nbytes();
  return n == 0 || std::memcmp(data(), other.data(), n) == 0;
}

namespace {
/// One element read in its widest natural form.
struct Scalar {
  bool isInt;
  int64_t i;
  double d;
};

template <class T>
T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class T>
void store(uint8_t *p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

Scalar readScalar(const uint8_t *p, DType type) {
  switch (type) {
  case DType::F32:
    return {false, 0, load<float>(p)};
  case DType::F64:
    return {false, 0, load<double>(p)};
  case DType::F16:
    return {false, 0, f16ToF32(load<uint16_t>(p))};
  case DType::BF16:
    return {false, 0, bf16ToF32(load<uint16_t>(p))};
  case DType::I64:
    return {true, load<int64_t>(p), 0};
  case DType::I32:
    return {true, load<int32_t>(p), 0};
  case DType::I16:
    return {true, load<int16_t>(p), 0};
  case DType::I8:
    return {true, load<int8_t>(p), 0};
  case DType::U8:
    return {true, load<uint8_t>(p), 0};
  case DType::Bool:
    return {true, load<uint8_t>(p) != 0, 0};
  }
  return {true, 0, 0};
}

template <class T>
T saturate(const Scalar &s) {
  constexpr int64_t lo = static_cast<int64_t>(std::numeric_limits<T>::min());
  constexpr int64_t hi = static_cast<int64_t>(std::numeric_limits<T>::max());
  if (s.isInt)
    return static_cast<T>(s.i < lo ? lo : (s.i > hi ? hi : s.i));
  if (std::isnan(s.d))
    return 0;
  double t = std::trunc(s.d);
  if (t <= static_cast<double>(lo))
    return static_cast<T>(lo);
  // double(hi) may round up past hi (for int64); compare with >=.
  if (t >= static_cast<double>(hi))
    return static_cast<T>(hi);
  return static_cast<T>(static_cast<int64_t>(t));
}

void writeScalar(uint8_t *p, DType type, const Scalar &s) {
  double d = s.isInt ? static_cast<double>(s.i) : s.d;
  switch (type) {
  case DType::F32:
    store<float>(p, static_cast<float>(d));
    return;
  case DType::F64:
    store<double>(p, d);
    return;
  case DType::F16:
    store<uint16_t>(p, f64ToF16(d));
    return;
  case DType::BF16:
    store<uint16_t>(p, f64ToBF16(d));
    return;
  case DType::I64:
    store<int64_t>(p, saturate<int64_t>(s));
    return;
  case DType::I32:
    store<int32_t>(p, saturate<int32_t>(s));
    return;
  case DType::I16:
    store<int16_t>(p, saturate<int16_t>(s));
    return;
  case DType::I8:
    store<int8_t>(p, saturate<int8_t>(s));
    return;
  case DType::U8:
    store<uint8_t>(p, saturate<uint8_t>(s));
    return;
  case DType::Bool:
    store<uint8_t>(p, s.isInt ? s.i != 0 : s.d != 0);
    return;
  }
}
} // namespace

Tensor Tensor::to(DType target) const {
  if (target == type)
    return clone();
  Tensor out = zeros(target, dims);
  size_t n = static_cast<size_t>(numel());
  if (n == 0)
    return out;
  // The bulk kernels need aligned input; mapped views may not be.
  Tensor src = *this;
  if (reinterpret_cast<uintptr_t>(data()) % dtypeSize(type) != 0)
    src = clone();
  const void *in = src.data();
  void *res = out.mutableData();
  auto *in16 = static_cast<const uint16_t *>(in);
  auto *in32 = static_cast<const float *>(in);
  auto *out16 = static_cast<uint16_t *>(res);
  auto *out32 = static_cast<float *>(res);
  if (type == DType::F16 && target == DType::F32) {
    f16ToF32(in16, out32, n);
    return out;
  }
  if (type == DType::BF16 && target == DType::F32) {
    bf16ToF32(in16, out32, n);
    return out;
  }
  if (type == DType::F32 && target == DType::F16) {
    f32ToF16(in32, out16, n);
    return out;
  }
  if (type == DType::F32 && target == DType::BF16) {
    f32ToBF16(in32, out16, n);
    return out;
  }
  const uint8_t *inBytes = static_cast<const uint8_t *>(in);
  uint8_t *outBytes = static_cast<uint8_t *>(res);
  size_t inSize = dtypeSize(type), outSize = dtypeSize(target);
  for (size_t i = 0; i < n; ++i)
    writeScalar(outBytes + i * outSize, target,
                readScalar(inBytes + i * inSize, type));
  return out;
}
