// A tiny Llama on the shipped corpus (run by ftl-embed-example).
seed 3
model m = llama(vocab: 260, dim: 32, layers: 2, heads: 2, kv_heads: 1, ffn: 64, ctx: 32)
tokenizer tok = bytes()
data corpus = text("../../../examples/data/corpus.txt") |> shuffle()
train m with lm(corpus) using adamw(lr: 3e-3) steps 20 batch 2 seq 32
