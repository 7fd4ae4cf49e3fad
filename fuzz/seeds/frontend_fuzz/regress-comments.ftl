eval d1 = ( 702 |> base ( ) // c5
   )
log a + // in
  b // after
// c1
  // c2
train m with o steps 1 clip // c
 (a + b) * c batch 2
data d = s // source
  |> filter(.a) // one
  |> take(3)
loop r in 1..2 {

  log r

}
