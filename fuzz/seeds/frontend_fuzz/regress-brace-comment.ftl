def f(n: int) {
  // expected-error @+1 {{function 'f' calls itself}}
  f(n)
}
def g(
  n: int, // p {
  m: int) { // h {
  // {{a}}
  log n
}
loop r in 1..2 // a {
{ // b {
  // c {
  log r }
