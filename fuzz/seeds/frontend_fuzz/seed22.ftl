// RUN: ftl check --verify-diagnostics %s
// RUN: not ftl check --werror %s 2>&1 | FileCheck %s --check-prefix=WERROR
// RUN: ftl check --no-warn-unused %s

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-warning @+1 {{data 'unused' is defined but never used [unused-definition]}}
data unused = text("Inputs/corpus.txt")
data corpus = text("Inputs/corpus.txt")
train m with lm(corpus) steps 1

// WERROR: error: data 'unused' is defined but never used
