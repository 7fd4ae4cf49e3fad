// Appended to a trained script: score one example with the decoder, then
// take the step function's loss on it without moving anything.
data one = d |> take(1)
save judge(one, by: likelihood(m)) to "judged.jsonl"
train m with sft(one) using sgd(lr: 0) steps 1 batch 1 seq 32
