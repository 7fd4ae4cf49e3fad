// LANGUAGE.md §2: data selection with pipelines of operators over records.
model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
data tasks = jsonl("../data/arith.jsonl", prompt: .question, response: .answer)
data code = jsonl("../data/code.jsonl")
data math = jsonl("../data/math.jsonl")
data general = jsonl("../data/general.jsonl")
data pool = jsonl("../data/pool.jsonl")

data clean = tasks
  |> filter(.answer =~ /^-?[0-9]+$/)  // regular expressions (re2 syntax)
  |> dedup(minhash(.question, ngram: 5), threshold: 0.8)
  |> select(perplexity(base) < pct(70))  // model-scored selection
  |> split(eval: 10%)                    // clean.train, clean.eval

data mix = mixture(code: 0.6, math: 0.3, general: 0.1)                      // sampling ratios
data near = pool |> select(ot_gradient(target: clean.train, budget: 2000))  // distribution-aware selection

train base with sft(clean.train) + sft(mix) + lm(near) steps 1
