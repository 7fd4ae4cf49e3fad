seed 1
model m = llama(vocab: 260, dim: 32, layers: 1, heads: 2, ctx: 64)
tokenizer tok = bytes()
data prompts = jsonl("prompts.jsonl")
let judged = judge(generate(m, prompts.prompt, max_tokens: 3), by: exec("python3 unruly_judge.py", timeout: 3s, workers: 2))
eval rate = pass_rate(judged)
train m with sft(judged.pass) using adamw(lr: 1e-3) steps 2 batch 2 seq 32
log rate
