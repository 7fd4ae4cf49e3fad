// LANGUAGE.md §6: reuse with functions and the standard library.
import std.recipes.{spin, faft}

def rejection_sft(m: model, d: data, rounds: int) {
  loop r in 1..rounds {
    let s = generate(m, d.prompt, n: 8)
    train m with sft(judge(s, by: exact(d.response)).pass) steps 100
  }
}

model base = llama(vocab: 512, dim: 128, layers: 4, heads: 4)
data tasks = jsonl("../data/arith.jsonl", prompt: .question, response: .answer)
rejection_sft(base, tasks, 3)
spin(base, tasks, 2, 0.1, 10)
faft(base, tasks, exec("python3 ../checks/run.py"), 2, 10)
