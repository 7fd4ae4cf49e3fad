def f0(x: int) {
  f1(x)
  f1(x)
}
def f1(x: int) {
  f2(x)
  f2(x)
}
def f2(x: int) {
  f3(x)
  f3(x)
}
def f3(x: int) {
  f4(x)
  f4(x)
}
def f4(x: int) {
  f5(x)
  f5(x)
}
def f5(x: int) {
  f6(x)
  f6(x)
}
def f6(x: int) {
  f7(x)
  f7(x)
}
def f7(x: int) {
  f8(x)
  f8(x)
}
def f8(x: int) {
  f9(x)
  f9(x)
}
def f9(x: int) {
  f10(x)
  f10(x)
}
def f10(x: int) {
  f11(x)
  f11(x)
}
def f11(x: int) {
  f12(x)
  f12(x)
}
def f12(x: int) {
  f13(x)
  f13(x)
}
def f13(x: int) {
  f14(x)
  f14(x)
}
def f14(x: int) {
  f15(x)
  f15(x)
}
def f15(x: int) {
  f16(x)
  f16(x)
}
def f16(x: int) {
  f17(x)
  f17(x)
}
def f17(x: int) {
  f18(x)
  f18(x)
}
def f18(x: int) {
  f19(x)
  f19(x)
}
def f19(x: int) {
  f20(x)
  f20(x)
}
def f20(x: int) {
  f21(x)
  f21(x)
}
def f21(x: int) {
  f22(x)
  f22(x)
}
def f22(x: int) {
  f23(x)
  f23(x)
}
def f23(x: int) {
  f24(x)
  f24(x)
}
def f24(x: int) {
  f25(x)
  f25(x)
}
def f25(x: int) {
  f26(x)
  f26(x)
}
def f26(x: int) {
  f27(x)
  f27(x)
}
def f27(x: int) {
  f28(x)
  f28(x)
}
def f28(x: int) {
  f29(x)
  f29(x)
}
def f29(x: int) {
  f30(x)
  f30(x)
}
def f30(x: int) {
  log x
}
f0(1)
