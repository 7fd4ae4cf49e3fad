// SPIN (self-play fine-tuning) on two-digit addition: a weakly trained model
// then plays against itself for three rounds. DPO teaches the model to prefer
// the gold answers over its own answers, with the previous round's model as
// the reference; each round adds the new model's answers to the pairs (as
// the SPIN paper keeps the previous iteration's data). The
// margin log p(gold) - log p(own first answer) on held-out prompts is logged
// after every round (metrics `margin_start` and `margin`).
seed 3
model m = llama(vocab: 260, dim: 64, layers: 2, heads: 4, ctx: 64)
tokenizer tok = bytes()
data gold = jsonl("../data/add_labelled.jsonl") |> split(eval: 25%)

train m with sft(gold.train) using adamw(lr: 2e-3) steps 80 batch 16 seq 64

// Held-out pairs: gold answers against the starting model's own answers.
data heldout = gold_pairs(gold.eval, generate(m, gold.eval.prompt, max_tokens: 5, temperature: 0))
eval margin_start = margin(m, heldout)

data pairs = gold_pairs(gold.train, generate(m, gold.train.prompt, max_tokens: 5, temperature: 0))
loop r in 1..3 {
  let ref = snapshot(m)
  train m with dpo(pairs, beta: 0.1, ref: ref) using adamw(lr: 5e-5) steps 40 batch 16 seq 64
  // The next round also learns against this round's own answers.
  pairs += gold_pairs(gold.train, generate(m, gold.train.prompt, max_tokens: 5, temperature: 0))
  eval margin = margin(m, heldout)
  log r, margin
}
