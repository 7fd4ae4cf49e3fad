// A file that does not parse is not formatted.
// RUN: not ftl fmt %s 2>&1 | FileCheck %s
model m = llama(
// CHECK: error: expected an expression
