#!/usr/bin/env python3
"""Loads a prompt- or prefix-tuning folder that ftl wrote with `init: text`
in PEFT and checks that it makes the base model behave as if the text came
first: PEFT's logits on the continuation equal the base model's logits on
text + continuation, position for position.

    .venv/bin/python scripts/check_peft_virtual.py ADAPTER-DIR MODEL-DIR \\
        --text TEXT --continuation TEXT [--tolerance 1e-4]

Token ids are the bytes of the texts (ftl's `bytes()` tokenizer without
special tokens, so they must be ASCII and below the model's vocabulary).
A prompt adapter holds the text's embeddings; a prefix adapter the keys and
values the model computes for it, in every layer: a wrong layout, order of
keys and values, or head grouping shows up as different logits. Prints the
largest absolute and relative differences, then PASS (exit 0) or FAIL.
"""
import argparse
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("adapter")
    parser.add_argument("model")
    parser.add_argument("--text", required=True)
    parser.add_argument("--continuation", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    prefix = list(args.text.encode("ascii"))
    rest = list(args.continuation.encode("ascii"))
    base = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)
    base.eval()
    with torch.no_grad():
        want = base(torch.tensor([prefix + rest])).logits[0, len(prefix):]
    model = PeftModel.from_pretrained(base, args.adapter)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([rest]),
                    attention_mask=torch.ones(1, len(rest), dtype=torch.long))
    got = out.logits[0, -len(rest):]
    if got.shape != want.shape:
        print("shapes differ: %s vs %s: FAIL" % (tuple(got.shape), tuple(want.shape)))
        sys.exit(1)
    diff = (got - want).abs()
    rel = (diff / want.abs().clamp(min=1)).max().item()
    print("%s (%s): max abs diff %.3g, max rel diff %.3g over %d x %d logits"
          % (args.adapter, model.peft_config["default"].peft_type.value,
             diff.max().item(), rel, got.shape[0], got.shape[1]))
    ok = rel <= args.tolerance
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


main()
