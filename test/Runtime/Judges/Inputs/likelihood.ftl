// likelihood.test: a briefly trained model scores three held-out sums.
seed 5
model m = llama(vocab: 260, dim: 32, layers: 2, heads: 2, ctx: 64)
tokenizer tok = bytes()
data d = jsonl("@DATA@/add_heldout.jsonl") |> take(3)
train m with sft(d) steps 5 batch 2 seq 32
let judged = judge(d, by: likelihood(m))
save judged to "judged.jsonl"
eval all = pass_rate(judged)
eval none = pass_rate(judge(d, by: likelihood(m, min: 0)))
data one = d |> take(1)
train m with sft(one) using sgd(lr: 0) steps 1 batch 1 seq 32
