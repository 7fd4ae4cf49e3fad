//===- ftl/Runtime/Tensor.h - Storage and dense tensors ---------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// `Storage` is a block of bytes shared by tensors: either owned heap memory
/// (64-byte aligned, zero-initialised, writable) or a read-only region of a
/// memory-mapped file. `Tensor` is a dense, contiguous, row-major view of a
/// storage: a dtype, a shape and a byte offset. Copying a `Tensor` shares the
/// storage; `clone()` makes an independent writable copy.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUNTIME_TENSOR_H
#define FTL_RUNTIME_TENSOR_H

#include "ftl/Runtime/DType.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace ftl::rt {

/// A block of bytes. Heap storage is writable; mapped files are not.
class Storage {
public:
  /// Alignment of heap storage.
  static constexpr size_t kAlignment = 64;

  /// `nbytes` zeroed, writable, `kAlignment`-aligned bytes.
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  /// A read-only mapping of the whole file at `path`. Empty files fail.
  static llvm::Expected<std::shared_ptr<Storage>> mapFile(llvm::StringRef path);

  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
  ~Storage();

  const uint8_t *data() const { return bytes; }
  /// Only for writable storage (asserts).
  uint8_t *mutableData();
  size_t size() const { return length; }
  bool isWritable() const { return writable; }
  /// True when this is a mapping of a file.
  bool isMapped() const { return mapping != nullptr; }

  /// Holds what keeps mapped memory alive (defined in Tensor.cpp).
  struct Mapping;

private:
  Storage() = default;
  uint8_t *bytes = nullptr;
  size_t length = 0;
  bool writable = false;
  std::unique_ptr<Mapping> mapping;
};

using Shape = llvm::SmallVector<int64_t, 4>;

/// "[2, 3]".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Product of the dims (1 for rank 0). Dims must be >= 0.
int64_t shapeNumel(llvm::ArrayRef<int64_t> shape);

/// A dense, contiguous, row-major tensor over shared storage.
class Tensor {
public:
  /// An empty handle (no storage); `valid()` is false.
  Tensor() = default;

  /// A new writable tensor filled with zero bytes.
  static Tensor zeros(DType type, llvm::ArrayRef<int64_t> shape);
  /// A new F32 tensor holding `values` (numel must match the shape).
  static Tensor fromF32(llvm::ArrayRef<float> values,
                        llvm::ArrayRef<int64_t> shape);
  /// A view of `storage` starting `offset` bytes in. The byte range must lie
  /// inside the storage (asserts); callers validating user files check first.
  static Tensor view(std::shared_ptr<Storage> storage, size_t offset,
                     DType type, llvm::ArrayRef<int64_t> shape);

  bool valid() const { return storage != nullptr; }
  DType dtype() const { return type; }
  llvm::ArrayRef<int64_t> shape() const { return dims; }
  int64_t dim(unsigned i) const { return dims[i]; }
  unsigned rank() const { return static_cast<unsigned>(dims.size()); }
  int64_t numel() const { return shapeNumel(dims); }
  size_t nbytes() const {
    return static_cast<size_t>(numel()) * dtypeSize(type);
  }
  size_t byteOffset() const { return offset; }
  const std::shared_ptr<Storage> &getStorage() const { return storage; }

  /// Read-only access to the first element. Views of mapped files may be
  /// misaligned for their element type (safetensors does not pad), so read
  /// them with memcpy or `clone()` first; heap tensors are 64-byte aligned.
  const void *data() const { return storage->data() + offset; }
  /// Writable access; the tensor must be writable (asserts).
  void *mutableData();

  template <class T>
  const T *dataAs() const {
    return static_cast<const T *>(data());
  }
  /// `dataAs<const float>()` reads any tensor; `dataAs<float>()` needs a
  /// writable one.
  template <class T>
  T *dataAs() {
    if constexpr (std::is_const_v<T>)
      return static_cast<T *>(std::as_const(*this).data());
    else
      return static_cast<T *>(mutableData());
  }

  /// False for views of mapped files.
  bool isWritable() const { return storage && storage->isWritable(); }

  /// An independent writable copy.
  Tensor clone() const;
  /// A new writable tensor converted to `target`. Floating point narrowing
  /// rounds to nearest even; float -> integer truncates toward zero and
  /// saturates (NaN -> 0); anything -> Bool is `x != 0`.
  Tensor to(DType target) const;
  /// The same storage seen with another shape of equal numel (asserts).
  Tensor reshape(llvm::ArrayRef<int64_t> newShape) const;
  /// Same dtype, same shape and the same bytes.
  bool bitwiseEqual(const Tensor &other) const;

private:
  std::shared_ptr<Storage> storage;
  size_t offset = 0;
  DType type = DType::F32;
  Shape dims;
};

} // namespace ftl::rt

#endif // FTL_RUNTIME_TENSOR_H
