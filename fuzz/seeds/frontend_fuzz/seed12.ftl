// RUN: ftl compile --emit=tokens %s | FileCheck %s

seed 42 // trailing comment
let x = 3e-4 * 15% + 200ms
data d = jsonl("f.jsonl") |> filter(.a =~ /^[0-9]+\/x$/i && .b / 2 > 1)

// CHECK: 3:1 'seed' 'seed'
// CHECK-NEXT: 3:6 integer '42'
// CHECK-NEXT: 4:1 'let' 'let'
// CHECK-NEXT: 4:5 identifier 'x'
// CHECK-NEXT: 4:7 '=' '='
// CHECK-NEXT: 4:9 number '3e-4'
// CHECK-NEXT: 4:14 '*' '*'
// CHECK-NEXT: 4:16 percentage '15%'
// CHECK-NEXT: 4:20 '+' '+'
// CHECK-NEXT: 4:22 duration '200ms'
// CHECK: 5:27 '|>' '|>'
// CHECK: 5:40 '=~' '=~'
// CHECK-NEXT: 5:43 regular expression '/^[0-9]+\/x$/i'
// CHECK-NEXT: 5:58 '&&' '&&'
// CHECK-NEXT: 5:61 '.' '.'
// CHECK-NEXT: 5:62 identifier 'b'
// CHECK-NEXT: 5:64 '/' '/'
// CHECK-NEXT: 5:66 integer '2'
// CHECK: end of file
