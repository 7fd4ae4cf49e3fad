// Iterative DPO (RLHF Workflow) on two-digit addition: a weakly trained model
// answers 3,000 unlabelled prompts four times each, a checker program judges the
// answers, and DPO trains on the best against the worst answer of every
// prompt, against the starting model as the reference. The margin
// log p(correct) - log p(wrong) of the starting model's answers is logged after
// every round (metrics `margin_start` and `margin`), on pairs of held-out
// prompts.
seed 5
model m = llama(vocab: 260, dim: 64, layers: 2, heads: 4, ctx: 64)
tokenizer tok = bytes()
data labelled = jsonl("../data/add_labelled.jsonl")
data prompts = jsonl("../data/add_prompts.jsonl")
data questions = jsonl("../data/add_heldout.jsonl")
let checker = exec("python3 ../checks/run.py")

train m with sft(labelled) using adamw(lr: 2e-3) steps 200 batch 16 seq 64

// Held-out pairs: the starting model's best against its worst answer to
// prompts it never trains on.
data heldout = best_worst(judge(generate(m, questions.prompt, n: 8, temperature: 1, max_tokens: 5), by: checker))
eval margin_start = margin(m, heldout)

let ref = snapshot(m)
loop r in 1..3 {
  let judged = judge(generate(m, prompts.prompt, n: 4, temperature: 1, max_tokens: 5), by: checker)
  train m with dpo(best_worst(judged), beta: 0.1, ref: ref) using adamw(lr: 5e-5)
    steps 60 batch 16 seq 64
  eval margin = margin(m, heldout)
  log r, margin
}
