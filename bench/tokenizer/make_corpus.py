#!/usr/bin/env python3
# ===- make_corpus.py - Benchmark corpus for the tokenizers ----------------===#
#
# Part of the ftl project.
#
# ===----------------------------------------------------------------------===#
"""Writes a deterministic JSONL corpus ({"text": ...} per line) of about
--mb megabytes: documents of 10-60 lines drawn from the multilingual text,
code, numbers and symbols of scripts/fixtures/make_tokenizers.py."""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'scripts', 'fixtures'))
import make_tokenizers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--mb', type=float, default=4.0)
    ap.add_argument('--seed', type=int, default=1234)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target = int(args.mb * 1e6)
    size = 0
    with open(args.out, 'w', encoding='utf-8') as f:
        while size < target:
            lines = make_tokenizers.corpus(rng, rng.randint(10, 60))
            text = '\n'.join(lines)
            size += len(text.encode('utf-8'))
            f.write(json.dumps({'text': text}, ensure_ascii=False) + '\n')


if __name__ == '__main__':
    main()
