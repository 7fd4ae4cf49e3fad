// LANGUAGE.md §4: objectives as expressions, with token-level masks and weights.
model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
data corpus = text("../data/corpus.txt")
data prefs = jsonl("../data/prefs.jsonl")
data code = jsonl("../data/code.jsonl")
data math = jsonl("../data/math.jsonl")
data general = jsonl("../data/general.jsonl")
data mix = mixture(code: 0.6, math: 0.3, general: 0.1)
adapter a = lora(rank: 8, alpha: 16) on base.layers[*].attn.{q, v}

objective obj = 1.0 * sft(mix, on: response)  // loss only on response tokens
              + 0.5 * dpo(prefs, beta: 0.1, ref: frozen(base))
              + 0.1 * sft(corpus, mask: random(15%, span: thought))  // masked-thought style
              + 0.01 * l2(a)
objective balanced = balance(sft(code), sft(math), by: loss_scale)  // dynamic task weighting

train base with obj steps 1
train base with balanced steps 1
