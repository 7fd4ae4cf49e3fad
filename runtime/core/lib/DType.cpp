//===- DType.cpp - Element types of tensors -------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Runtime/DType.h"

using namespace ftl::rt;

size_t ftl::rt::dtypeSize(DType type) {
  switch (type) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 0;
}

llvm::StringRef ftl::rt::dtypeName(DType type) {
  switch (type) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::F64:
    return "F64";
  case DType::I64:
    return "I64";
  case DType::I32:
    return "I32";
  case DType::I16:
    return "I16";
  case DType::I8:
    return "I8";
  case DType::U8:
    return "U8";
  case DType::Bool:
    return "BOOL";
  }
  return "?";
}

std::optional<DType> ftl::rt::parseDType(llvm::StringRef name) {
  static const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F64,
                              DType::I64, DType::I32, DType::I16,  DType::I8,
                              DType::U8,  DType::Bool};
  for (DType type : all)
    if (dtypeName(type) == name)
      return type;
  return std::nullopt;
}

bool ftl::rt::isFloatingPoint(DType type) {
  return type == DType::F32 || type == DType::F16 || type == DType::BF16 ||
         type == DType::F64;
}

llvm::StringRef ftl::rt::allDTypeNames() {
  return "F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL";
}
