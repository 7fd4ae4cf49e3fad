// RUN: ftl check --verify-diagnostics --split-input-file --no-warn-unused %s

// expected-error @+1 {{invalid character '$' in source [invalid-character]}}
seed $

// -----

// expected-error @+1 {{invalid character 'é' in source}}
model é = llama(vocab: 8, dim: 8, layers: 1, heads: 1)

// -----

// expected-error @+1 {{unterminated string literal: expected a closing '"' before the end of the line [unterminated-string]}}
data d = text("data/corpus.txt)

// -----

// expected-error @+1 {{invalid escape sequence '\q' in string literal [invalid-escape]}}
data d = text("data\q.txt")

// -----

// expected-error @+1 {{unterminated regular expression literal: expected a closing '/' before the end of the line [unterminated-regex]}}
data d = jsonl("x.jsonl") |> filter(.a =~ /[0-9

// -----

// expected-error @+1 {{invalid number literal '1__000': expected single '_' between digits [invalid-number]}}
seed 1__000

// -----

// expected-error @+1 {{invalid duration unit 'sec'; expected ms, s, m or h [invalid-duration-unit]}}
let t = 5sec

// -----

// expected-error @+1 {{invalid number literal '9223372036854775808': expected an integer of at most 9223372036854775807 [invalid-number]}}
seed 9223372036854775808

// -----

// expected-error @+1 {{invalid number literal '1e999': expected a number of at most 1.8e308}}
let x = 1e999
// expected-error @+1 {{invalid number literal '1e999%'}}
let y = 1e999%
// expected-error @+1 {{invalid number literal '1e999s'}}
let z = 1e999s

// -----

// expected-error @+1 {{invalid escape sequence '\u{110000}' in string literal [invalid-escape]}}
let s = "\u{110000}"
// expected-error @+1 {{invalid escape sequence '\u{D800}' in string literal}}
let t = "\u{D800}"

// -----

// A keyword used as a field or member name is an operand: '/' divides.
data d = text("../Sema/Inputs/corpus.txt") |> map(data: len(.text)) |> filter(.data / 2 > 1)
log d
