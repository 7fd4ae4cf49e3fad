// A small Llama learns the shipped corpus: the loss goes down.
seed 42
model m = llama(vocab: 260, dim: 64, layers: 2, heads: 4, kv_heads: 2, ffn: 128, ctx: 64)
tokenizer tok = bytes()
data corpus = text("../../../examples/data/corpus.txt") |> shuffle()
train m with lm(corpus) using adamw(lr: 3e-3) schedule cosine(warmup: 5) steps 60 batch 4 seq 64
