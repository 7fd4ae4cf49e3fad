// Formatter bugs found by fuzz/frontend_fuzz.cpp and the random-program test
// in lang/unittests/FormatterTest.cpp. The output must parse to the same
// program, keep every comment, and be stable.
// RUN: ftl fmt %s > %t.ftl
// RUN: FileCheck %s < %t.ftl
// RUN: ftl fmt %t.ftl | diff %t.ftl -

// A '{' inside a comment at the top of a block was taken for the block's.
def f(n: int) {
  // see {{this}}
  f(n)
}
loop r in 1..2 // a {
{ // b {
  // c {
  log r }
// CHECK:      def f(n: int) {
// CHECK-NEXT:   // see {{[{][{]}}this}}
// CHECK-NEXT:   f(n)
// CHECK-NEXT: }
// CHECK-NEXT: loop r in 1..2 {  // a {
// CHECK-NEXT:   // b {
// CHECK-NEXT:   // c {
// CHECK-NEXT:   log r
// CHECK-NEXT: }

// A list literal as an index kept its brackets only in selectors.
let y = x[[1, 2]]
freeze m.layers[0, 1], m.layers[[0, 1]]
// CHECK:      let y = x{{\[\[}}1, 2]]
// CHECK-NEXT: freeze m.layers[0, 1], m.layers{{\[\[}}0, 1]]

// An open range at the end of a statement would take the next token.
let r = (2..)
g(x)
// A field after '..' ends the range.
let h = 1..(.a)
// After a clause name '/' divides; a clause starting with '(' must not start
// a line.
train m with o steps (1..) batch (/r/) clip (a + b) * c
// CHECK:      let r = (2..)
// CHECK-NEXT: g(x)
// CHECK:      let h = 1..(.a)
// CHECK:      train m with o steps (1..) batch (/r/) clip (a + b) * c

// A comment line took the next comment as its trailing comment.
log a + // in
  b // after
// CHECK:      log a + b  // in
// CHECK-NEXT: // after

// No blank line at the start or the end of a block.
loop s in 1..2 {

  log s

}
// CHECK:      loop s in 1..2 {
// CHECK-NEXT:   log s
// CHECK-NEXT: }
