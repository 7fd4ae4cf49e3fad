// One train compares with one reference: a preference term and a KL term
// (or two of either) that name different reference models are an error at
// the second, with a note at the first. Two `frozen(m)` of the same model
// written in one place are the same reference.
// RUN: ftl compile --emit=step --verify-diagnostics %s
// RUN: not ftl run %s 2>&1 | FileCheck %s
// CHECK: error: this 'kl' term names another reference
// CHECK: note: the first reference here
// CHECK-NOT: run folder

model base = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
model other = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data corpus = text("Inputs/corpus.txt")
data prefs = jsonl("../../examples/data/prefs.jsonl")
// expected-note @+2 {{the first reference here}}
// expected-error @+1 {{this 'kl' term names another reference than the train's first 'dpo' term; one train has one reference [compiler-error]}}
train base with dpo(prefs, ref: frozen(other)) + kl(corpus) steps 1 batch 2 seq 16
train base with dpo(prefs, ref: frozen(base)) + kl(corpus, ref: frozen(base)) steps 1 batch 2 seq 16
