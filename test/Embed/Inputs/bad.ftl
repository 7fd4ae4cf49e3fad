// Two errors for ftl-embed-example to report.
seed 3
model m = llama(vocab: 260, dim: 32, layers: 2, heads: 2)
data corpus = text("../../../examples/data/corpus.txt")
train m with lm(corpsu) steps 20 batch 2 seq 32
train m with lm(corpus) steps 20 batch 0 seq 32
