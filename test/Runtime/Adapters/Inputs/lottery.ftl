// LT-SFT in one script (lottery.test): a full fine-tuning from m0, then the
// entries that moved most train alone from m0 again.
seed 7
model m = llama(vocab: 260, dim: 32, layers: 2, heads: 4, kv_heads: 2, ffn: 64, ctx: 64)
tokenizer tok = bytes()
data d = jsonl("../../../../examples/data/arith.jsonl", prompt: .question, response: .answer) |> take(64)
let m0 = snapshot(m)
train m with sft(d) using adamw(lr: 1e-2) steps 5 batch 4 seq 32
save m to "out/ft"
adapter s = sparse(density: 5%, pick: lottery(from: m0)) on m.layers[*].mlp.up
save m to "out/reset"
train m with sft(d) using adamw(lr: 1e-2, wd: 0.1) steps 5 batch 4 seq 32
save m to "out/final"
save m0 to "out/theta0"
