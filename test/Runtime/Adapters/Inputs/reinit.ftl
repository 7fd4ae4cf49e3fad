// Top-layer re-initialisation (reinit.test): train, give the last layer its
// initial values from the seed again, and train on.
seed 7
model m = llama(vocab: 260, dim: 32, layers: 2, heads: 4, kv_heads: 2, ffn: 64, ctx: 64)
tokenizer tok = bytes()
data d = jsonl("@DATA@/arith.jsonl", prompt: .question, response: .answer) |> take(64)
save m to "out/init"
train m with sft(d) using adamw(lr: 1e-2) steps 3 batch 4 seq 32
save m to "out/trained"
reinit m.layers[-1]
save m to "out/reinit"
train m with sft(d) using adamw(lr: 1e-2) steps 3 batch 4 seq 32
