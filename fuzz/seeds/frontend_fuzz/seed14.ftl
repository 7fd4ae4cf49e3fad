// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-note @+1 {{'a' is placed here}}
adapter a = lora(rank: 4) on base.layers[*].attn.{q, v}
// expected-error @+1 {{adapters 'a' and 'b' both apply to 'layers.0.attn.q.weight', and 'lora' and 'lora' cannot be composed [adapter-conflict]}}
adapter b = lora(rank: 8) on base.layers[0].attn.q

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
adapter a = lora(rank: 4) on base.layers[*].mlp.*
// A sparse update composes with a low-rank one (DSEE): no error.
adapter s = sparse(density: 5%) on base.layers[*].mlp.up

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{'prompt' expects a whole model, as in 'on base', found a selector}}
adapter p = prompt(tokens: 4) on base.layers[0]

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{'rank' must be a positive integer, found 0 [invalid-value]}}
adapter a = lora(rank: 0) on base.layers[*].attn.q

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{'adapter a' expects an adapter kind such as 'lora(rank: 8)', found an optimizer}}
adapter a = adamw(lr: 1e-3) on base

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
freeze base
// expected-error @+1 {{model 'base' has no trainable parameters: everything is frozen [nothing-trainable]}}
train base with lm(corpus) steps 1

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
adapter a = lora() on base.layers[*].attn.{q, v}
// expected-error @+1 {{'sparse' requires argument 'density' [missing-argument]}}
adapter s = sparse() on base.layers[0].mlp.up
// expected-note @-1 {{signature: sparse(}}

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
model other = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
adapter a = lora() on other.layers[*].attn.q
// expected-error @+1 {{adapter 'a' is placed on model 'other', but this 'train' trains model 'base' [adapter-other-model]}}
train base with lm(corpus) + 0.1 * l2(a) steps 1
