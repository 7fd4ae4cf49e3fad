// `ftl run` refuses, before any work, constructs the runtime cannot execute,
// each reported at its source location.
// RUN: ftl run --verify-diagnostics --no-warn-unused %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data pool = text("Inputs/corpus.txt")
data target = text("Inputs/corpus.txt")
// expected-error @+2 {{not implemented yet: data operator 'select' [not-implemented-yet]}}
// expected-error @+1 {{not implemented yet: selection 'ot_gradient' [not-implemented-yet]}}
data near = pool |> select(ot_gradient(target: target, budget: 10))
