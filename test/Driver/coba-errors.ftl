// balance(by: coba): settings out of range and terms CoBa cannot weigh are
// errors when the train is compiled, before any work.
// RUN: ftl compile --emit=step --verify-diagnostics --split-input-file %s

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data a = text("Inputs/corpus.txt")
data b = text("Inputs/corpus.txt")
// expected-error @+1 {{balance(by: coba): 'history' must be at least 2 (a slope needs two validation losses) [compiler-error]}}
train m with balance(sft(a), sft(b), by: coba, val: [a, b], history: 1) steps 1 batch 2 seq 16

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data a = text("Inputs/corpus.txt")
data b = text("Inputs/corpus.txt")
// expected-error @+1 {{balance(by: coba): 'every' must be positive, found 0 [compiler-error]}}
train m with balance(sft(a), sft(b), by: coba, val: [a, b], every: 0) steps 1 batch 2 seq 16

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data a = text("Inputs/corpus.txt")
data b = text("Inputs/corpus.txt")
// expected-error @+1 {{balance(by: coba): 'tau' must be above 0 [compiler-error]}}
train m with balance(sft(a), sft(b), by: coba, val: [a, b], tau: 0) steps 1 batch 2 seq 16

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data a = text("Inputs/corpus.txt")
data prefs = jsonl("../../examples/data/prefs.jsonl")
// expected-error @+1 {{balance(by: coba) weighs token losses (sft, lm, unlikelihood, kl), one per task; 'dpo' is not one [compiler-error]}}
train m with balance(sft(a), dpo(prefs), by: coba, val: [a, prefs]) steps 1 batch 2 seq 16

// -----

model m = llama(vocab: 64, dim: 32, layers: 1, heads: 2)
tokenizer tok = bytes()
data a = text("Inputs/corpus.txt")
data b = text("Inputs/corpus.txt")
// One task may not be a sum of terms: each validation set is one term's.
// expected-error @+1 {{balance(by: coba) needs one loss term per task (and one validation set each): it has 3 terms for 2 validation sets [compiler-error]}}
train m with balance(sft(a) + lm(b), sft(b), by: coba, val: [a, b]) steps 1 batch 2 seq 16
