// Adapter settings the compiler cannot plan are errors at the adapter (or
// the pick) when the train that uses them is lowered, before any work.
// RUN: ftl compile --emit=step --verify-diagnostics --split-input-file %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
let base0 = snapshot(base)
// expected-error @+1 {{a lottery(from: ...) pick is made once; leave out 'refresh' [compiler-error]}}
adapter s = sparse(density: 5%, pick: lottery(from: base0), refresh: 2) on base.layers[*].mlp.up
train base with lm(corpus) steps 1

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{random() picks sparse entries by the adapter's 'density'; its 'rate' is for input masking and must be left out here [compiler-error]}}
adapter s = sparse(density: 5%, pick: random(rate: 0.3)) on base.layers[*].mlp.up
train base with lm(corpus) steps 1

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1, ffn: 48)
data corpus = text("Inputs/corpus.txt")
adapter a = lora(rank: 20, init: pissa) on base.layers[0].attn.{q, k}
// expected-error @+1 {{lora(init: pissa) of rank 20 on 'layers.0.attn.k.weight' [16x32]: PiSSA needs a rank of at most 16 [compiler-error]}}
train base with lm(corpus) steps 1


// -----

// DoRA's output with dropout on the adapter input is not built.
model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{not implemented yet: lora(dropout: 0.05) with DoRA (use dropout: 0) [not-implemented-yet]}}
adapter a = lora(rank: 4, dropout: 0.05, dora: true) on base.layers[*].attn.q
train base with lm(corpus) steps 1

// -----

// Prefix tuning's MLP re-parameterisation.
model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{not implemented yet: prefix(reparam: true) (the MLP re-parameterisation of prefix tuning) [not-implemented-yet]}}
adapter p = prefix(tokens: 4, reparam: true) on base
train base with lm(corpus) steps 1 seq 16

// -----

// DoRA on biased layers.
model base = gpt2(vocab: 64, dim: 32, layers: 2, heads: 2, ctx: 32)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{not implemented yet: DoRA on a linear layer with a bias ('layers.0.attn.q.weight') [not-implemented-yet]}}
adapter a = lora(rank: 4, dora: true) on base.layers[*].attn.q
train base with lm(corpus) steps 1 seq 16
