// Misuse of half fine-tuning, sparse fine-tuning and layer-wise LR decay is
// reported by `ftl check`, before anything runs.
// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'density' must be above 0 and at most 1 (0% < density <= 100%), found 0 [invalid-value]}}
adapter s = sparse(density: 0) on base.layers[0].mlp.up

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'density' must be above 0 and at most 1 (0% < density <= 100%), found 0% [invalid-value]}}
adapter s = sparse(density: 0%) on base.layers[0].mlp.up

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// A fraction above 1 is out of range for every fraction parameter.
// expected-error @+1 {{'density' must be a fraction between 0 and 1 (or 0% to 100%), found 1.5 [invalid-value]}}
adapter s = sparse(density: 1.5) on base.layers[0].mlp.up

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'sparse' trains entries of linear weights (attn.{q, k, v, o}, mlp.{gate, up, down}, an untied head), but 'layers.0.attn_norm.weight' is a norm [sparse-not-linear]}}
adapter s = sparse(density: 10%) on base.layers[0].attn_norm

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// Whole layers hold norms: select the linear layers.
// expected-error @+1 {{but 'layers.1.attn_norm.weight' is a norm [sparse-not-linear]}}
adapter s = sparse(density: 10%) on base.layers[1]

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{but 'embed.weight' is an embedding (a tied head is the embedding) [sparse-not-linear]}}
adapter s = sparse(density: 10%) on base.embed

// -----

model base = gpt2(vocab: 64, dim: 32, layers: 2, heads: 2, ctx: 16)
// GPT-2's head is tied: it is the embedding.
// expected-error @+1 {{but 'embed.weight' is an embedding (a tied head is the embedding) [sparse-not-linear]}}
adapter s = sparse(density: 10%) on base.head

// -----

model base = gpt2(vocab: 64, dim: 32, layers: 2, heads: 2, ctx: 16)
// Biases of selected linear layers stay as they are: no error.
adapter s = sparse(density: 10%) on base.layers[*].mlp.*

// -----

model base = gpt2(vocab: 64, dim: 32, layers: 2, heads: 2, ctx: 16)
// Biases alone are no linear weights.
// expected-error @+1 {{but 'layers.0.attn.q.bias' is a bias [sparse-not-linear]}}
adapter s = sparse(density: 10%) on base.layers[0].attn.q.bias

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'rank' of principal() must be at most 32, the smaller side of 'layers.1.mlp.gate.weight' [48x32], found 40 [invalid-value]}}
adapter s = sparse(density: 10%, pick: principal(rank: 40)) on base.layers[1].mlp.{gate, up}

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'refresh' must be 0 or a positive number of steps, found -2 [invalid-value]}}
adapter s = sparse(density: 10%, refresh: -2) on base.layers[1].attn.q

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'half' regroups the parameters of transformer layers, but 'head.weight' is not in a layer; select layers, as in 'base.layers[*]' [half-outside-layers]}}
adapter h = half() on base.head

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{but 'final_norm.weight' is not in a layer; select layers, as in 'base.layers[*]' [half-outside-layers]}}
adapter h = half() on base.layers[*], base.final_norm

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// expected-error @+1 {{'regroup_every' must be 0 or a positive number of steps, found -1 [invalid-value]}}
adapter h = half(regroup_every: -1) on base.layers[*]

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// Half fine-tuning owns the tensors it regroups; a sparse update on one of
// them has no composition rule.
// expected-note @+1 {{'h' is placed here}}
adapter h = half() on base.layers[*]
// expected-error @+1 {{adapters 'h' and 's' both apply to 'layers.0.mlp.up.weight', and 'half' and 'sparse' cannot be composed [adapter-conflict]}}
adapter s = sparse(density: 10%) on base.layers[0].mlp.up

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
// LoRA adds its own parameters: it composes with half and with sparse.
adapter h = half() on base.layers[0]
adapter a = lora(rank: 2) on base.layers[*].attn.q
adapter s = sparse(density: 10%) on base.layers[1].attn.q

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'layer_decay' must be above 0 and at most 1 (1: no decay), found 0 [invalid-value]}}
train base with lm(corpus) using adamw(layer_decay: 0) steps 1

// -----

model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, ffn: 48)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'layer_decay' must be above 0 and at most 1 (1: no decay), found 1.5 [invalid-value]}}
train base with lm(corpus) using adamw(layer_decay: 1.5) steps 1
