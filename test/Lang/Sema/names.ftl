// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+2 {{use of undeclared name 'bse' [unknown-name]}}
// expected-note @+1 {{did you mean 'base'?}}
train bse with lm(corpus) steps 1

// -----

data corpus = text("Inputs/corpus.txt")
// expected-error @+2 {{no built-in or user function named 'lmm' [unknown-function]}}
// expected-note @+1 {{did you mean 'lm'?}}
objective o = lmm(corpus)
log 1

// -----

// expected-note @+1 {{'corpus' was defined here}}
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{redefinition of 'corpus' [redefinition]}}
data corpus = text("Inputs/corpus.txt")

// -----

// expected-note @+1 {{'seed' was defined here}}
seed 1
// expected-error @+1 {{the seed is already set; expected one 'seed' statement [duplicate-seed]}}
seed 2

// -----

data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'corpus' is data with fields text, not a function [not-callable]}}
let x = corpus(1)

// -----

def f(n: int) {
  // expected-error @+1 {{function 'f' calls itself; recursion is not allowed [recursive-call]}}
  f(n)
}
f(1)

// -----

// expected-error @+2 {{redefinition of 'filter'}}
// expected-note @+1 {{'filter' is a built-in function}}
def filter(n: int) { log n }

// -----

// A field reference only means something inside a data operator.
// expected-error @+1 {{field reference '.answer' is only valid inside a data operator such as filter(...) [field-outside-operator]}}
let x = .answer
