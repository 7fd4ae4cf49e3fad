// Rejection-sampling SFT on two-digit addition: a small model is warmed up on
// 400 labelled sums, then three rounds sample four answers to each of 3,000
// unlabelled prompts, keep the answers the checker program accepts (it
// computes the sum itself) and train on everything kept so far. The judged
// pass rate on 200 held-out prompts is logged before and after every round
// (metrics `pass_before` and `pass`).
seed 11
model m = llama(vocab: 260, dim: 96, layers: 3, heads: 4, ctx: 64)
tokenizer tok = bytes()
data labelled = jsonl("../data/add_labelled.jsonl")
data prompts = jsonl("../data/add_prompts.jsonl")
data heldout = jsonl("../data/add_heldout.jsonl")
let checker = exec("python3 ../checks/run.py")

train m with sft(labelled) using adamw(lr: 2e-3) schedule cosine(warmup: 20)
  steps 300 batch 16 seq 64
eval pass_before = pass_rate(judge(generate(m, heldout.prompt, max_tokens: 5, temperature: 0), by: checker))

data kept = labelled
loop r in 1..3 {
  let judged = judge(generate(m, prompts.prompt, n: 4, temperature: 0.8, max_tokens: 5), by: checker)
  kept += judged.pass |> dedup(exact(.prompt))
  train m with sft(kept) using adamw(lr: 1e-3) schedule cosine(warmup: 10) steps 300 batch 16 seq 64
  eval pass = pass_rate(judge(generate(m, heldout.prompt, max_tokens: 5, temperature: 0), by: checker))
  eval sampled = pass_rate(judged)
  log r, pass, sampled
}
