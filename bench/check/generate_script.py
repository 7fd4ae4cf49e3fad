#!/usr/bin/env python3
"""Writes a realistic, valid .ftl script of about N lines for timing `ftl check`.

    generate_script.py OUT_DIR [--lines 10000]

OUT_DIR receives big.ftl plus the small data files it reads (data/*.jsonl,
data/corpus.txt) and checks/run.py, so `ftl check OUT_DIR/big.ftl` exercises
everything the checker does on a real script: file peeks, data schemas
through pipelines, regexes, selectors against the parameter tree, adapter
placement, objectives, train clauses, loops, recipes and their calls.

The script is a sequence of experiments. Each one defines models, data
pipelines, adapters, objectives, trainings, evaluation loops, a recipe (def)
and calls to it; names carry the experiment's number, so nothing clashes and
every definition is used (no warnings). The text depends only on --lines.
"""
import argparse
import json
import os

DATA = {
    "arith.jsonl": [{"question": "%d + %d" % (i, i + 1), "answer": str(2 * i + 1)}
                    for i in range(20)],
    "prefs.jsonl": [{"prompt": "q%d" % i, "chosen": "good %d" % i,
                     "rejected": "bad %d" % i} for i in range(20)],
    "code.jsonl": [{"prompt": "write f%d" % i, "response": "def f%d(): pass" % i}
                   for i in range(20)],
    "math.jsonl": [{"prompt": "%d * 2" % i, "response": str(2 * i)} for i in range(20)],
    "general.jsonl": [{"prompt": "tell me %d" % i, "response": "fact %d" % i}
                      for i in range(20)],
    "chat.jsonl": [{"messages": [{"role": "user", "content": "hi %d" % i},
                                 {"role": "assistant", "content": "hello"}]}
                   for i in range(20)],
}


def experiment(i):
    """One experiment: about 75 lines."""
    v = i % 7
    layers = 4 + i % 5
    rank = 4 << (i % 3)
    lo = i % layers
    # Continuation lines of the objective align '+' under the first term's
    # start, as `ftl fmt` does.
    pad = " " * (len("objective obj%d = " % i) - 2)
    return f"""
// ---------------------------------------------------------------------------
// Experiment {i}: arithmetic SFT with preferences, LoRA on attention and a
// sparse update on the upper MLPs, then rounds of self-generated data.
// ---------------------------------------------------------------------------
model base{i} = llama(vocab: 512, dim: 128, layers: {layers}, heads: 4, kv_heads: 2, ctx: 256)
model ref{i} = gpt2(vocab: 512, dim: 64, layers: 2, heads: 2, ctx: 128)
tokenizer tok{i} = bytes()

data tasks{i} = jsonl("data/arith.jsonl", prompt: .question, response: .answer)
data prefs{i} = jsonl("data/prefs.jsonl")
data code{i} = jsonl("data/code.jsonl")
data math{i} = jsonl("data/math.jsonl")
data general{i} = jsonl("data/general.jsonl")
data chat{i} = jsonl("data/chat.jsonl")
data corpus{i} = text("data/corpus.txt", split: paragraph) |> chunk(256)

data clean{i} = tasks{i}
  |> filter(.answer =~ /^-?[0-9]+$/ && len(.question) > {v + 1})
  |> dedup(minhash(.question, ngram: 5), threshold: 0.8)
  |> map(source: "arith", level: len(.answer))
  |> shuffle()
  |> split(eval: 10%)
data mix{i} = mixture(code{i}: 0.5, math{i}: 0.3, general{i}: 0.2)
data short{i} = mix{i}
  |> filter(len(.response) < {20 + v} || .prompt =~ /(?i)^write/)
  |> take({100 + i})
data prompts{i} = clean{i}.train
  |> template(format: "Q: {{prompt}}\\nA: {{response}}")
  |> sample(50%)

adapter a{i} = lora(rank: {rank}, alpha: {2 * rank}, dropout: 0.05) on base{i}.layers[*].attn.{{q, v}}
adapter s{i} = sparse(density: 5%, pick: principal(rank: 16)) on base{i}.layers[{lo}..].mlp.*
adapter p{i} = prompt(tokens: 20) on ref{i}
freeze base{i} except a{i}, s{i}, base{i}.layers[-1].mlp_norm

objective obj{i} = 1.0 * sft(clean{i}.train, on: response)
{pad}+ 0.5 * dpo(prefs{i}, beta: 0.1, ref: frozen(base{i}))
{pad}+ 0.1 * sft(short{i}, mask: random(15%, span: response))
{pad}+ 0.05 * lm(corpus{i})
{pad}+ 0.01 * l2(a{i})
objective chatobj{i} = balance(sft(chat{i}, on: assistant), lm(prompts{i}), by: loss_scale)

train base{i} with obj{i} using adamw(lr: 3e-4, wd: 0.01) schedule cosine(warmup: 20)
  steps {200 + 10 * v} batch 16 seq 256 accumulate 2 clip 1.0 eval_every 50 eval_on clean{i}.eval
train ref{i} with chatobj{i} using adamw(lr: 1e-3) steps 100 batch 8 seq 128 precision bf16

eval acc{i} = exact_match(generate(base{i}, clean{i}.eval.prompt, max_tokens: 8), clean{i}.eval.response)
eval chatacc{i} = exact_match(generate(ref{i}, math{i}.prompt, max_tokens: 8), math{i}.response)

loop round{i} in 1..3 until acc{i} >= 0.9 {{
  let samples{i} = generate(base{i}, clean{i}.train.prompt, n: 4, temperature: 0.8)
  let judged{i} = judge(samples{i}, by: exec("python3 checks/run.py", timeout: 5s))
  data pairs{i} = judged{i}.pass
    |> filter(.score > 0.5)
    |> take(64)
  train base{i} with 1.0 * sft(pairs{i}) + 0.3 * unlikelihood(judged{i}.fail) steps 50
  log round{i}, acc{i}, chatacc{i}
}}

def recipe{i}(m: model, d: data, rounds: int) {{
  loop r in 1..rounds {{
    let s = generate(m, d.prompt, n: 8, temperature: 0.7)
    let j = judge(s, by: exact(d.response))
    train m with sft(j.pass) using adamw(lr: 1e-4) steps 100
    log r
  }}
}}

recipe{i}(base{i}, tasks{i}, 2)
recipe{i}(base{i}, clean{i}.train, 1)
save a{i} to "out/{i}/adapter"
save merge(base{i}, a{i}) to "out/{i}/merged"
save p{i} to "out/{i}/prompt"
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--lines", type=int, default=10000)
    args = parser.parse_args()

    data_dir = os.path.join(args.out_dir, "data")
    os.makedirs(data_dir, exist_ok=True)
    os.makedirs(os.path.join(args.out_dir, "checks"), exist_ok=True)
    for name, records in DATA.items():
        with open(os.path.join(data_dir, name), "w") as f:
            for r in records:
                f.write(json.dumps(r) + "\n")
    with open(os.path.join(data_dir, "corpus.txt"), "w") as f:
        for i in range(50):
            f.write("line %d of a small corpus\n\n" % i)
    with open(os.path.join(args.out_dir, "checks", "run.py"), "w") as f:
        f.write("import sys\nsys.exit(0)\n")

    parts = ["// A generated script for the `ftl check` benchmark "
             "(bench/check/generate_script.py).\nseed 1234\n"]
    lines = 2
    i = 0
    while lines < args.lines:
        text = experiment(i)
        parts.append(text)
        lines += text.count("\n")
        i += 1
    with open(os.path.join(args.out_dir, "big.ftl"), "w") as f:
        f.write("".join(parts))
    print("wrote %s: %d lines, %d experiments" %
          (os.path.join(args.out_dir, "big.ftl"), lines, i))


if __name__ == "__main__":
    main()
