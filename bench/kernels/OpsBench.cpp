//===- OpsBench.cpp - Attention and fused LM-head benchmarks --------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

int main() { return 0; }
