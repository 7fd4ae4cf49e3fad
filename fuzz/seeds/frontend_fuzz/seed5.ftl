// LANGUAGE.md §5: training and control flow.
model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
data tasks = jsonl("../data/arith.jsonl", prompt: .question, response: .answer)
data clean = tasks
  |> filter(.answer =~ /^-?[0-9]+$/)
  |> split(eval: 10%)
adapter a = lora(rank: 8, alpha: 16) on base.layers[*].attn.{q, v}
objective obj = sft(clean.train)

train base with obj using adamw(lr: 3e-4, wd: 0.01) schedule cosine(warmup: 20)
  steps 200 batch 16 seq 256

eval acc = exact_match(generate(base, clean.eval.prompt, max_tokens: 8), clean.eval.response)

loop round in 1..3 {
  let samples = generate(base, clean.train.prompt, n: 4, temperature: 0.8)
  let judged = judge(samples, by: exec("python3 ../checks/run.py", timeout: 5s))
  train base with 1.0 * sft(judged.pass) + 0.3 * unlikelihood(judged.fail) steps 50
  log round, acc
}

save a to "out/adapter"  // PEFT-compatible adapter folder
save merge(base, a) to "out/merged"
