let y = x[[1, 2]]
freeze m.layers[0, 1], m.layers[[0, 1]]
let r = (2..)
f(x)
let c = (1 < 2..)
g(x)
let h = 1..(.a)
train m with o steps (1..) batch (/r/) clip (a + b) * c
log a, (1..)
seed (1..)
save m to (1..)
x += (1..)
let k = d.eval / 2 + .data / 3
