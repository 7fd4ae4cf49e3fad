#!/usr/bin/env python3
# ===- hf_bench.py - Hugging Face tokenizers encode_batch throughput -------===#
#
# Part of the ftl project.
#
# ===----------------------------------------------------------------------===#
"""The reference side of run.sh: encode_batch of the same corpus with
Hugging Face `tokenizers` (threads set by RAYON_NUM_THREADS), best of
--repeat runs after one warm-up, printed like ftl-tokenizer-bench."""
import argparse
import json
import os
import time

from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('tokenizer')
    ap.add_argument('corpus')
    ap.add_argument('--repeat', type=int, default=3)
    args = ap.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    with open(args.corpus, encoding='utf-8') as f:
        texts = [json.loads(line)['text'] for line in f if line.strip()]
    nbytes = sum(len(t.encode('utf-8')) for t in texts)
    encs = tok.encode_batch(texts, add_special_tokens=False)
    best = 1e30
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        encs = tok.encode_batch(texts, add_special_tokens=False)
        best = min(best, time.perf_counter() - t0)
    tokens = 0
    checksum = 0
    for e in encs:
        tokens += len(e.ids)
        for i in e.ids:
            checksum = (checksum * 1000003 + i + 1) % (1 << 64)
    print(f'hf:  {len(texts)} texts, {nbytes / 1e6:.2f} MB, {tokens} tokens, '
          f'checksum {checksum:x}, {os.environ.get("RAYON_NUM_THREADS", "?")} '
          f'threads, best {best:.3f} s, {nbytes / 1e6 / best:.2f} MB/s')


if __name__ == '__main__':
    main()
