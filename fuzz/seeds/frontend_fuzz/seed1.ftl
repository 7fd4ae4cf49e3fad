// LANGUAGE.md §1: models, tokenizers, data.
seed 1234  // one seed drives every random choice

// a model made from a config (no download needed) ...
model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4, kv_heads: 2, ffn: 344, ctx: 256)
// ... or loaded from a Hugging Face style folder: config.json, *.safetensors, tokenizer.json
model big = load("../../test/fixtures/models/tiny-llama")
tokenizer tok = bytes()  // or: tokenizer tok = hf("models/tiny-llama/tokenizer.json")

data corpus = text("../data/corpus.txt") |> chunk(256)
data tasks = jsonl("../data/arith.jsonl", prompt: .question, response: .answer)
data prefs = jsonl("../data/prefs.jsonl", prompt: .prompt, chosen: .chosen, rejected: .rejected)

train base with lm(corpus) + sft(tasks) + dpo(prefs) steps 1
train big with sft(tasks) steps 1
