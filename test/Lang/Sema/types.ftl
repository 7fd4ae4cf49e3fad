// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'model m' expects a model, found data with fields text [type-mismatch]}}
model m = corpus

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+2 {{argument 'lr' of 'adamw' expects a number, found a string [type-mismatch]}}
// expected-note @+1 {{signature: adamw(lr: number = 1e-3}}
train m with lm(corpus) using adamw(lr: "fast") steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{invalid operands to '+': an objective and a string [invalid-operands]}}
objective o = lm(corpus) + "x"
train m with o steps 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data tasks = jsonl("Inputs/tasks.jsonl", prompt: .question, response: .answer)
// expected-error @+1 {{'train ... with' expects an objective such as 'sft(data)', found data}}
train m with tasks steps 1

// -----

// expected-error @+1 {{'dim' must be a multiple of 'heads' (3), found 32 [invalid-value]}}
model m = llama(vocab: 64, dim: 32, layers: 2, heads: 3)

// -----

// expected-error @+1 {{'kv_heads' must be a divisor of 'heads' (4), found 3}}
model m = llama(vocab: 64, dim: 32, layers: 2, heads: 4, kv_heads: 3)

// -----

// expected-error @+1 {{a percentage must be between 0% and 100%, found 150%}}
data d = text("Inputs/corpus.txt") |> sample(150%)
log 1

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'steps' must be a positive integer, found 0}}
train m with lm(corpus) steps 0

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
data corpus = text("Inputs/corpus.txt")
// expected-error @+1 {{'fast' is not a valid value for 'recompute'; expected one of none, attention, all [invalid-enum-value]}}
train m with lm(corpus) steps 1 recompute fast

// -----

model m = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// expected-error @+1 {{'data corpus' expects data, found a model}}
data corpus = m

// -----

// expected-error @+1 {{'|>' expects data on its left, found an integer}}
data d = 3 |> shuffle()

// -----

data d = text("Inputs/corpus.txt")
// expected-error @+1 {{'lm' is not a data operator and cannot follow '|>' [not-a-data-operator]}}
objective o = d |> lm()

// -----

// A function gives no value: using its call as one is an error, not silence.
def recipe(n: int) {
  log n
}
// expected-error @+1 {{'let x' expects a value, found a call to 'recipe', which returns nothing [type-mismatch]}}
let x = recipe(1)
// expected-error @+1 {{'log' expects a value, found a call to 'recipe', which returns nothing}}
log recipe(2), 3

// -----

// expected-error @+1 {{'-' expects a number, a metric or an objective, found a string [type-mismatch]}}
let y = -"s"
// expected-error @+1 {{'!' expects a boolean, found an integer [type-mismatch]}}
let z = !3
log y, z

// -----

// Shapes beyond the limits are refused before the parameter tree is built.
// expected-error @+1 {{'layers' must be at most 1024, found 100000000 [invalid-value]}}
model m = llama(vocab: 8, dim: 8, layers: 100000000, heads: 1)
adapter a = lora() on m.layers[*].attn.q
// expected-error @+1 {{'dim' must be at most 16777216, found 9223372036854775807}}
model n = gpt2(dim: 9223372036854775807)
log 1
