//===- ftl/Runtime/DType.h - Element types of tensors -----------*- C++ -*-===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The element types a tensor can hold. Names follow the safetensors spelling
/// ("F32", "BF16", "I64", "BOOL", ...) so that files and error messages use
/// one vocabulary.
///
//===----------------------------------------------------------------------===//

#ifndef FTL_RUNTIME_DTYPE_H
#define FTL_RUNTIME_DTYPE_H

#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace ftl::rt {

enum class DType : uint8_t { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

/// Bytes per element.
size_t dtypeSize(DType type);

/// The safetensors spelling: "F32", "F16", "BF16", "F64", "I64", "I32",
/// "I16", "I8", "U8", "BOOL".
llvm::StringRef dtypeName(DType type);

/// Inverse of `dtypeName` (exact, case-sensitive); nullopt for anything else.
std::optional<DType> parseDType(llvm::StringRef name);

/// F32, F16, BF16 and F64.
bool isFloatingPoint(DType type);

/// Every dtype name, comma-separated, for "expected one of ..." messages.
llvm::StringRef allDTypeNames();

} // namespace ftl::rt

#endif // FTL_RUNTIME_DTYPE_H
