// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+2 {{'llama' requires argument 'heads' [missing-argument]}}
// expected-note @+1 {{signature: llama(}}
model m = llama(vocab: 64, dim: 32, layers: 2)

// -----

// expected-error @+2 {{'llama' has no parameter named 'hedas' [unknown-keyword-argument]}}
// expected-note @+1 {{did you mean 'heads'?}}
model m = llama(vocab: 64, dim: 32, layers: 2, hedas: 2)

// -----

// expected-error @+1 {{argument 'vocab' of 'llama' is given more than once [duplicate-argument]}}
model m = llama(64, vocab: 64, dim: 32, layers: 2, heads: 2)

// -----

// expected-error @+2 {{'bytes' takes at most 0 positional argument(s), found 1 [too-many-arguments]}}
// expected-note @+1 {{signature: bytes() -> tokenizer}}
tokenizer t = bytes(3)

// -----

data d = jsonl("Inputs/tasks.jsonl")
// expected-error @+1 {{invalid regular expression: missing ): (abc [invalid-regex]}}
data e = d |> filter(.question =~ /(abc/)
log 1

// -----

data d = jsonl("Inputs/tasks.jsonl")
// expected-error @+1 {{invalid regular expression flag 'x'; expected i, m or s [invalid-regex-flag]}}
data e = d |> filter(.question =~ /abc/x)
log 1

// -----

data code = jsonl("Inputs/tasks.jsonl")
data math = jsonl("Inputs/tasks.jsonl")
// expected-error @+1 {{mixture ratios must be positive and sum to 1, found a sum of 0.9 [mixture-ratios]}}
data mix = mixture(code: 0.6, math: 0.3)
log 1

// -----

def f(m: model, n: int) { log n }
model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+2 {{argument 'n' of 'f' expects an integer, found a string}}
// expected-note @-3 {{signature: f(m: model, n: int)}}
f(m, "three")

// -----

// expected-error @+2 {{use of undeclared name 'modle' [unknown-name]}}
// expected-note @+1 {{did you mean 'model'?}}
def f(m: modle) { log 1 }

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data p = jsonl("Inputs/prefs.jsonl", prompt: .prompt, chosen: .chosen, rejected: .rejected)
// expected-error @+1 {{'beta' must be above 0 (the inverse temperature of the preference loss), found 0 [invalid-value]}}
train m with dpo(p, beta: 0) steps 1
