// Precedence survives formatting: parentheses stay where they matter.
// RUN: ftl fmt %s | FileCheck %s

let a = (1 + 2) * 3
let b = 1 + (2 * 3)
let c = 10 - (4 - 3)
let d = -(1 + 2)
// CHECK: let a = (1 + 2) * 3
// CHECK: let b = 1 + 2 * 3
// CHECK: let c = 10 - (4 - 3)
// CHECK: let d = -(1 + 2)
