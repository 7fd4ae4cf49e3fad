// RUN: not ftl compile --emit=bogus %s 2>&1 | FileCheck %s
// CHECK: ftl compile: unknown level 'bogus'; expected tokens, ast, ftl, step, grad, fused, llvm or ptx
seed 1
