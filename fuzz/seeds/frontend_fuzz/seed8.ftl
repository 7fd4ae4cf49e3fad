// RUN: ftl fmt %s > %t.ftl
// RUN: FileCheck %s < %t.ftl
// RUN: ftl fmt %t.ftl | diff %t.ftl -
// RUN: ftl fmt --check %t.ftl
// RUN: not ftl fmt --check %s

seed   7   // the seed
// a leading comment


model   base=llama( vocab:64,dim:32 ,layers:2,heads:2 )
data corpus = text("../Sema/Inputs/corpus.txt") |> filter(len(.text) > 3) |> take(10) // trailing
objective o = 1.0 * lm(corpus) + 0.5 * lm(corpus) + 0.25 * lm(corpus)
loop r in 1..2 { // loop header comment
  train base with o using adamw(lr: 3e-4) steps 1
  // inside the loop
}
// at the end

// CHECK:      seed 7  // the seed
// CHECK-NEXT: // a leading comment
// CHECK-EMPTY:
// CHECK-NEXT: model base = llama(vocab: 64, dim: 32, layers: 2, heads: 2)
// CHECK-NEXT: data corpus = text("../Sema/Inputs/corpus.txt")
// CHECK-NEXT:   |> filter(len(.text) > 3)
// CHECK-NEXT:   |> take(10)  // trailing
// CHECK-NEXT: objective o = 1.0 * lm(corpus)
// CHECK-NEXT:             + 0.5 * lm(corpus)
// CHECK-NEXT:             + 0.25 * lm(corpus)
// CHECK-NEXT: loop r in 1..2 {  // loop header comment
// CHECK-NEXT:   train base with o using adamw(lr: 3e-4) steps 1
// CHECK-NEXT:   // inside the loop
// CHECK-NEXT: }
// CHECK-NEXT: // at the end
