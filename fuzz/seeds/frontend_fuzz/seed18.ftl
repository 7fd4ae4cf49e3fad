// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+2 {{cannot find module 'std.nothere' [import-not-found]}}
// expected-note @+1 {{looked for it in}}
import std.nothere

// -----

// expected-error @+2 {{module 'Inputs/imports/lib.ftl' has no definition named 'train_llm' [import-name-not-found]}}
// expected-note @+1 {{did you mean 'train_lm'?}}
import "Inputs/imports/lib.ftl".{train_llm}

// -----

import "Inputs/imports/lib.ftl".{train_lm}
model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
train_lm(m, corpus, 5)

// -----

import "Inputs/imports/lib.ftl"
model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// The body is checked with the argument's fields: dpo needs preference data.
// expected-error @Inputs/imports/lib.ftl:7 {{'dpo' needs data with fields prompt, chosen and rejected}}
needs_prefs(m, corpus)

// -----

// expected-error @Inputs/imports/cycle_b.ftl:1 {{module 'cycle_a.ftl' imports itself [import-cycle]}}
import "Inputs/imports/cycle_a.ftl"

// -----

// expected-error @Inputs/imports/not_a_library.ftl:1 {{'seed' is not allowed inside an imported module (only 'def' and 'import') [statement-not-allowed]}}
import "Inputs/imports/not_a_library.ftl"
