// The ftl quickstart: all four parts of the language in one short run.
//   1. data selection with operators
//   2. a LoRA adapter placed with a typed selector
//   3. a weighted multi-task objective, trained with a held-out loss
//   4. a feedback round: generate, judge with a program, retrain on what passed
// Run it with `ftl run examples/quickstart.ftl` (a couple of minutes on two
// cores); metrics go to runs/quickstart-<time>/metrics.jsonl.
seed 42
model base = llama(vocab: 260, dim: 96, layers: 3, heads: 4, ctx: 64)
tokenizer tok = bytes()

// 1. Data: two tasks, cleaned and split; prompts without answers for later.
data sums = jsonl("data/add_labelled.jsonl")
  |> filter(.response =~ /^[0-9]+$/)
  |> dedup(exact(.prompt))
  |> split(eval: 10%)
data words = jsonl("data/code.jsonl")
  |> filter(len(.response) <= 8)
  |> shuffle()
data prompts = jsonl("data/add_prompts.jsonl") |> take(2000)
data heldout = jsonl("data/add_heldout.jsonl")

// 3. Both tasks at once, sums weighted up; eval_on logs the held-out loss.
objective tasks = 1.0 * sft(sums.train) + 0.3 * sft(words)
train base with tasks using adamw(lr: 2e-3) schedule cosine(warmup: 20)
  steps 200 batch 16 seq 64 eval_on sums.eval eval_every 40

let checker = exec("python3 checks/run.py", timeout: 5s)
eval before = pass_rate(judge(generate(base, heldout.prompt, max_tokens: 5, temperature: 0), by: checker))

// 2. From here on only a LoRA adapter on every attention and MLP projection
// trains; the base stays frozen.
adapter a = lora(rank: 8, alpha: 16) on base.layers[*].attn.*, base.layers[*].mlp.*

// 4. Sample answers to unlabelled prompts, keep those the checker accepts,
// and train on them (with the labelled sums, so nothing is forgotten).
let samples = generate(base, prompts.prompt, n: 4, temperature: 0.8, max_tokens: 5)
let judged = judge(samples, by: checker)
data good = judged.pass |> dedup(exact(.prompt))
train base with sft(good) + 0.5 * sft(sums.train) using adamw(lr: 2e-3) steps 300 batch 16 seq 64

eval after = pass_rate(judge(generate(base, heldout.prompt, max_tokens: 5, temperature: 0), by: checker))
log before, after
save a to "out/quickstart-adapter"  // a PEFT folder
