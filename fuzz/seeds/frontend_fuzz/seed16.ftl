// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+1 {{a loop range must be integers like 1..3, found a number [invalid-loop-range]}}
loop r in 2.5 {
  log r
}

// -----

loop r in 1..3 until 5 {
  log r
}
// expected-error @-3 {{a condition must be a boolean, found an integer [invalid-condition]}}

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'train' needs a 'steps' or 'epochs' clause [train-needs-length]}}
train m with lm(corpus) batch 4

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{'save' expects a model, an adapter or data, found an integer}}
save 3 to "out"

// -----

data pairs = text("Inputs/corpus.txt")
let n = 3
loop r in 1..2 {
  // expected-error @+1 {{'+=' expects data on the left, found an integer}}
  n += pairs
}
