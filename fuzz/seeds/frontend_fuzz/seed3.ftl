// LANGUAGE.md §3: adapter placement with typed selectors.
model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
data corpus = text("../data/corpus.txt")

adapter a = lora(rank: 8, alpha: 16, dropout: 0.05) on base.layers[*].attn.{q, v}
adapter s = sparse(density: 5%, pick: principal(rank: 16)) on base.layers[2..].mlp.*
adapter p = prompt(tokens: 20) on base  // soft prompt
freeze base except a, s                 // everything else is frozen
train base with lm(corpus) steps 1

// Half fine-tuning trains half of each layer's parameter groups; it owns the
// tensors it plans for, so it goes on a model of its own here.
model other = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
adapter h = half(regroup_every: 100) on other.layers[*]  // half fine-tuning
train other with lm(corpus) steps 1
