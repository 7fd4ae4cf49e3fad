// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+1 {{invalid character '$' in source [invalid-character]}}
seed $

// -----

// expected-error @+1 {{invalid character 'é' in source}}
model é = llama(vocab: 8, dim: 8, layers: 1, heads: 1)

// -----

// expected-error @+1 {{unterminated string literal [unterminated-string]}}
data d = text("data/corpus.txt)

// -----

// expected-error @+1 {{invalid escape sequence '\q' in string literal [invalid-escape]}}
data d = text("data\q.txt")

// -----

// expected-error @+1 {{unterminated regular expression literal [unterminated-regex]}}
data d = jsonl("x.jsonl") |> filter(.a =~ /[0-9

// -----

// expected-error @+1 {{invalid number literal '1__000' [invalid-number]}}
seed 1__000

// -----

// expected-error @+1 {{invalid duration unit 'sec'; expected ms, s, m or h [invalid-duration-unit]}}
let t = 5sec
