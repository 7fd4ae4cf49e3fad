//===- FTLDialect.cpp - The ftl dialect -----------------------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "ftl/Dialect/FTL/IR/FTLDialect.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Dialect/FTL/IR/FTLTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ftl;

#include "ftl/Dialect/FTL/IR/FTLOpsDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ftl/Dialect/FTL/IR/FTLOpsTypes.cpp.inc"

void FTLDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ftl/Dialect/FTL/IR/FTLOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "ftl/Dialect/FTL/IR/FTLOpsTypes.cpp.inc"
      >();
}
