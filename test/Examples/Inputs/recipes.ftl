// Every recipe of std/recipes.ftl once, on a tiny untrained model and eight
// held-out sums (recipes.test): each must run end to end.
import std.recipes.{rejection_sft, spin, iterative_dpo, s3ft, faft, leti, chain_of_hindsight, ilf}
seed 3
model m = llama(vocab: 260, dim: 32, layers: 1, heads: 2, ctx: 512)
tokenizer tok = bytes()
data d = jsonl("../../../examples/data/add_heldout.jsonl") |> take(8)
let checker = exec("python3 ../../../examples/checks/run.py")
rejection_sft(m, d, checker, 1, 2, 2)
spin(m, d, 1, 0.1, 2)
iterative_dpo(m, d, checker, 1, 2, 0.1, 2)
s3ft(m, d, checker, 2)
faft(m, d, checker, 1, 2)
leti(m, d, checker, 1, 2)
chain_of_hindsight(m, d, checker, 2)
ilf(m, d, checker, 2)
