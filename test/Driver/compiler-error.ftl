// Errors found while lowering a train statement (after checking) point at the
// statement and stop the run before any compute starts. A GPT-2 model has
// learned positions only up to its context length.
// RUN: ftl compile --emit=step --verify-diagnostics %s
// RUN: not ftl run %s 2>&1 | FileCheck %s
// CHECK: error: 'seq' (32) exceeds the model's learned positions (16) [compiler-error]
// CHECK-NOT: run folder

model base = gpt2(vocab: 64, dim: 32, layers: 2, heads: 2, ctx: 16)
tokenizer tok = bytes()
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'seq' (32) exceeds the model's learned positions (16) [compiler-error]}}
train base with lm(corpus) steps 1 seq 32
