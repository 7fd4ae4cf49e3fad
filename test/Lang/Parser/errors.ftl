// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+1 {{expected '=', found identifier 'llama' [expected-token]}}
model base llama(vocab: 8, dim: 8, layers: 1, heads: 1)

// -----

// expected-error @+1 {{expected an expression, found ')' [expected-expression]}}
let x = (1 + )

// -----

// expected-error @+1 {{expected a statement (seed, model, tokenizer, data, adapter, freeze, reinit, objective, train, eval, loop, let, log, save, def, import or a call), found '}' [expected-statement]}}
}

// -----

// expected-error @+1 {{expected a statement}}
1 + 2

// -----

model m = llama(vocab: 8, dim: 8, layers: 1, heads: 1)
// expected-error @+1 {{expected a parameter selector such as 'base.layers[*].attn.{q, v}', found '(' [expected-selector]}}
adapter a = lora() on (m)

// -----

// expected-error @+1 {{positional argument after keyword arguments; expected positional arguments first [positional-after-keyword]}}
model m = llama(vocab: 8, 16)

// -----

model m = llama(vocab: 8, dim: 8, layers: 1, heads: 1)
data d = text("Inputs/corpus.txt")
// expected-error @+1 {{duplicate 'steps' clause in 'train'; expected each clause at most once [duplicate-clause]}}
train m with lm(d) steps 10 steps 20

// -----

model m = llama(vocab: 8, dim: 8, layers: 1, heads: 1)
data d = text("Inputs/corpus.txt")
// expected-error @+2 {{unknown clause 'stpes' in 'train'; expected one of using, schedule, steps, epochs, batch, seq, accumulate, clip, eval_every, eval_on, log_every, save_every, recompute, device, precision [unknown-train-clause]}}
// expected-note @+1 {{did you mean 'steps'?}}
train m with lm(d) stpes 10

// -----

loop r in 1..2 {
  // expected-error @+1 {{'def' and 'import' are only allowed at the top level of a file [nested-def]}}
  def f(x: int) { log x }
}

// -----

// expected-error @+1 {{the right side of '|>' must be a call to a data operator, found an expression that is not a call [expected-pipe-target]}}
data d = text("Inputs/corpus.txt") |> shuffle

// -----

// The parser recovers at the next statement and reports it too.
// expected-error @+1 {{expected '='}}
model m llama()
// expected-error @+1 {{expected an expression, found end of file}}
let y =
