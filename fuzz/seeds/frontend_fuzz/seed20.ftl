// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{selector 'base.layers[*].attn.{x}' matches no parameter of model 'base' [selector-matches-nothing]}}
adapter a = lora(rank: 4) on base.layers[*].attn.{x}

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{index 5 is out of range for 'base.layers', which has 2 entries [layer-index-out-of-range]}}
adapter a = lora(rank: 4) on base.layers[5].attn.q

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{index -3 is out of range for 'base.layers', which has 2 entries}}
freeze base.layers[-3..]

// -----

data d = text("Inputs/corpus.txt")
// expected-error @+1 {{a selector must start with a model name, but 'd' is data with fields text [selector-not-model]}}
adapter a = lora() on d.layers[0]

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{selector 'base.layers.attn' matches no parameter of model 'base'}}
freeze base.layers.attn

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{expected a parameter selector such as 'base.layers[*].attn.{q, v}', found an index that is not an integer literal}}
freeze base.layers[1.5]

// -----

// Selectors in a folder-loaded model are checked against its config.json.
model big = load("Inputs/llama-folder")
// expected-error @+1 {{index 2 is out of range for 'big.layers', which has 2 entries}}
adapter a = lora() on big.layers[2].mlp.*
