//===- Digest.cpp - Digests for bitwise determinism checks ----------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Run/Digest.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

using namespace ftl::rt;

static llvm::ArrayRef<uint8_t> tensorBytes(const Tensor &tensor) {
  if (!tensor.valid())
    return {};
  return llvm::ArrayRef<uint8_t>(static_cast<const uint8_t *>(tensor.data()),
                                 tensor.nbytes());
}

std::string ftl::rt::tensorDigest(const Tensor &tensor) {
  return llvm::toHex(llvm::SHA256::hash(tensorBytes(tensor)),
                     /*LowerCase=*/true);
}

static void addU64(llvm::SHA256 &hasher, uint64_t value) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  hasher.update(llvm::ArrayRef<uint8_t>(bytes, 8));
}

static void addString(llvm::SHA256 &hasher, llvm::StringRef text) {
  addU64(hasher, text.size());
  hasher.update(text);
}

std::string ftl::rt::namedTensorsDigest(
    llvm::ArrayRef<std::pair<std::string, Tensor>> tensors) {
  llvm::SHA256 hasher;
  addU64(hasher, tensors.size());
  for (const auto &[name, tensor] : tensors) {
    addString(hasher, name);
    addString(hasher, tensor.valid() ? dtypeName(tensor.dtype()) : "invalid");
    addU64(hasher, tensor.valid() ? tensor.rank() : 0);
    if (tensor.valid())
      for (int64_t dim : tensor.shape())
        addU64(hasher, static_cast<uint64_t>(dim));
    llvm::ArrayRef<uint8_t> bytes = tensorBytes(tensor);
    addU64(hasher, bytes.size());
    hasher.update(bytes);
  }
  return llvm::toHex(hasher.final(), /*LowerCase=*/true);
}
