#!/usr/bin/env python3
"""Tokens per second of transformers' generate(), the peer of
ftl-generate-bench (same prompts, same counts, same sampling settings).

    hf_generate.py <model-dir> <greedy|sampled> <prompts> <prompt-len>
                   <new-tokens> <threads> <reps>

Token i of prompt p is (37 p + 11 i + 5) mod vocab; all prompts have the
same length, so the batch needs no padding. No EOS stop. Sampled = do_sample
with temperature 0.8, top_k 50, top_p 0.95. Prints the median and best
tokens/s over <reps> timed runs after one warm-up, and the checksum of the
generated ids that ftl-generate-bench prints too.
"""
import statistics
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    path, mode = sys.argv[1], sys.argv[2]
    prompts, length, new, threads, reps = map(int, sys.argv[3:8])
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(
        path, torch_dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    ids = torch.tensor([[(37 * p + 11 * i + 5) % vocab for i in range(length)]
                        for p in range(prompts)])
    kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                  max_new_tokens=new, min_new_tokens=new, eos_token_id=None,
                  pad_token_id=0)
    if mode == "sampled":
        kwargs.update(do_sample=True, temperature=0.8, top_k=50, top_p=0.95)
    else:
        kwargs.update(do_sample=False)
    times = []
    torch.manual_seed(1)
    for rep in range(reps + 1):
        start = time.perf_counter()
        with torch.no_grad():
            out = model.generate(**kwargs)
        elapsed = time.perf_counter() - start
        if rep > 0:
            times.append(elapsed)
    generated = out[:, length:]
    produced = generated.numel()
    checksum = 0
    for row in generated.tolist():
        for t in row:
            checksum = (checksum * 1000003 + t) % 1000000007
    median = statistics.median(sorted(times))
    best = min(times)
    print(f"hf {mode}: {produced} tokens, median {median:.4f} s, "
          f"{produced / median:.1f} tokens/s median, "
          f"{produced / best:.1f} tokens/s best, checksum {checksum}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
