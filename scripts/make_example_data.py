#!/usr/bin/env python3
"""Writes the small synthetic datasets the examples use (examples/data/).

Deterministic (fixed seed); the outputs are committed, CI never runs this.
  python3 scripts/make_example_data.py
"""
import json
import os
import random

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")
os.makedirs(root, exist_ok=True)
rng = random.Random(20261128)


def write_jsonl(name, rows):
    with open(os.path.join(root, name), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


# Multi-digit addition: question/answer, with a few malformed answers and
# near-duplicates so filter and dedup have work to do.
arith = []
for i in range(600):
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    arith.append({"id": i, "question": f"{a}+{b}=", "answer": str(a + b)})
for i in range(20):
    arith.append({"id": 600 + i, "question": f"what is {i}+{i}?", "answer": "unknown"})
for row in arith[:30]:
    arith.append({"id": row["id"] + 1000, "question": row["question"] + " ", "answer": row["answer"]})
rng.shuffle(arith)
write_jsonl("arith.jsonl", arith)

# Preferences: the chosen answer is the correct sum, the rejected one is off.
prefs = []
for i in range(300):
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    wrong = a + b + rng.choice([-10, -1, 1, 10])
    prefs.append({"prompt": f"{a}+{b}=", "chosen": str(a + b), "rejected": str(wrong)})
write_jsonl("prefs.jsonl", prefs)

# Task mixtures: code, math and general instruction data (prompt/response).
ops = ["reverse", "upper", "length"]
code, math, general = [], [], []
for i in range(200):
    word = "".join(rng.choice("abcdefgh") for _ in range(rng.randint(3, 8)))
    op = rng.choice(ops)
    out = word[::-1] if op == "reverse" else word.upper() if op == "upper" else str(len(word))
    code.append({"prompt": f"{op}('{word}') ->", "response": out})
    a, b = rng.randint(0, 20), rng.randint(0, 20)
    math.append({"prompt": f"{a}*{b}=", "response": str(a * b)})
    general.append({"prompt": f"Repeat: {word}", "response": word})
write_jsonl("code.jsonl", code)
write_jsonl("math.jsonl", math)
write_jsonl("general.jsonl", general)
write_jsonl("pool.jsonl", [{"text": r["prompt"] + " " + r["response"]} for r in code + math])

# A plain-text corpus for language modelling.
words = ("the model reads the data and learns to add numbers while the judge "
         "checks every answer it writes").split()
with open(os.path.join(root, "corpus.txt"), "w", encoding="utf-8") as f:
    for _ in range(400):
        f.write(" ".join(rng.choice(words) for _ in range(rng.randint(6, 16))) + "\n")

# Rejection-sampling SFT (examples/feedback): two-digit addition. A small
# labelled set for the warm-up, a larger set of prompts without answers (the
# judge computes the sum itself), and held-out labelled prompts.
add = random.Random(7)
seen = set()


def addition(count, labelled):
    rows = []
    while len(rows) < count:
        a, b = add.randint(10, 99), add.randint(10, 99)
        if (a, b) in seen:
            continue
        seen.add((a, b))
        row = {"prompt": f"{a}+{b}="}
        if labelled:
            row["response"] = str(a + b)
        rows.append(row)
    return rows


write_jsonl("add_heldout.jsonl", addition(200, True))
write_jsonl("add_labelled.jsonl", addition(400, True))
write_jsonl("add_prompts.jsonl", addition(3000, False))
print("wrote", root)
