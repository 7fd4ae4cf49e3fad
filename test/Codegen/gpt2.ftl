// Generated code for the fused groups of a small GPT-2 step (LayerNorm,
// GELU, biases, AdamW over every parameter).
// RUN: ftl compile --emit=llvm %s | FileCheck %s --check-prefix=LLVM
// RUN: ftl compile --emit=ptx %s | FileCheck %s --check-prefix=PTX

seed 3
model m = gpt2(vocab: 96, dim: 48, layers: 1, heads: 2, ctx: 16)
data d = text("../../examples/data/corpus.txt")
train m with lm(d) using adamw(lr: 1e-3) steps 2 batch 2 seq 8

// Identical groups share a kernel: 55 groups, 15 kernels.
// LLVM-LABEL: define void @ftl_fused_0(ptr
// LLVM-LABEL: define void @ftl_fused_14(ptr
// LLVM-NOT: define void @ftl_fused_15(

// PTX: .target sm_90
// PTX-COUNT-15: .visible .entry ftl_fused_{{[0-9]+}}(
// PTX-NOT: .entry
