model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2, kv_heads: 1)
tokenizer tok = bytes()
data corpus = text("corpus.txt")
adapter a = lora(rank: 4, alpha: 8) on base.layers[*].attn.{q, v}
train base with lm(corpus) steps 1 batch 4 seq 32
