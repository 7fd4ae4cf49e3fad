model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1, ffn: 88)
model other = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1, ffn: 88)
tokenizer tok = bytes()
data corpus = text("corpus.txt")
adapter s = sparse(density: 5%, pick: principal(rank: 4), refresh: 50) on base.layers[*].mlp.up
adapter r = sparse(density: 10%) on base.layers[1].attn.q
train base with lm(corpus) steps 1 batch 4 seq 32
adapter h = half(regroup_every: 10) on other.layers[*]
train other with lm(corpus) using adamw(lr: 1e-3, layer_decay: 0.5) steps 1 batch 4 seq 32
model third = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1, ffn: 88)
adapter d = lora(rank: 4, dora: true) on third.layers[*].attn.q
adapter q = lora(rank: 2, dropout: 0.1) on third.layers[0].attn.v
adapter b = parallel(rank: 8) on third.layers[1].mlp
adapter p = prefix(tokens: 3) on third
train third with lm(corpus) steps 1 batch 4 seq 32
