#!/usr/bin/env python3
"""Loads a LoRA adapter folder (one ftl wrote) in PEFT and compares PEFT's
logits with logits ftl computed.

    .venv/bin/python scripts/check_peft_interop.py ADAPTER-DIR LOGITS-FILE
                     [--model MODEL-DIR] [--tolerance 1e-4]

LOGITS-FILE is what `ftl-logits` writes (JSON with "tokens" and "logits"), or
a safetensors file with "tokens" (I64) and "logits" (F32 [T, vocab]). The base
model is --model, else the adapter's base_model_name_or_path, else the
"model" of the JSON file; relative paths are tried from the current folder,
then from the repository root.

Besides the logits, it checks that PEFT used every tensor of the folder: each
one equals the parameter PEFT loaded it into, and no LoRA parameter of the
PEFT model was left at its initial value for lack of a tensor.

Prints the largest absolute difference and the largest relative difference
|ftl - peft| / max(|peft|, 1), then PASS (exit 0) when the relative one is at
most the tolerance, else FAIL (exit 1). Example, for the other direction of
the interop check (ftl writes the folder and the logits):

    build/bin/ftl-logits test/fixtures/models/tiny-gpt2 \\
        --random-lora attn.q,attn.v --rank 4 --alpha 8 \\
        --save-adapter /tmp/gpt2-qv --tokens 1,5,9,42,100,7,255,0 \\
        --out /tmp/gpt2-qv.json
    .venv/bin/python scripts/check_peft_interop.py /tmp/gpt2-qv /tmp/gpt2-qv.json
"""
import argparse
import json
import os
import sys

import torch
from peft import PeftConfig, PeftModel
from safetensors import safe_open
from transformers import AutoModelForCausalLM

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def resolve(path):
    for candidate in (path, os.path.join(ROOT, path)):
        if os.path.isdir(candidate):
            return candidate
    return None


def read_logits(path):
    if path.endswith(".safetensors"):
        with safe_open(path, "pt") as f:
            return (f.get_tensor("tokens").tolist(),
                    f.get_tensor("logits").to(torch.float32), None)
    with open(path) as f:
        data = json.load(f)
    return (data["tokens"], torch.tensor(data["logits"], dtype=torch.float32),
            data.get("model"))


def check_loaded_tensors(model, adapter_dir):
    """Every file tensor reached its parameter; every LoRA parameter came
    from the file."""
    state = model.state_dict()
    problems = []
    used = set()
    path = os.path.join(adapter_dir, "adapter_model.safetensors")
    with safe_open(path, "pt") as f:
        for key in f.keys():
            target = key.replace(".lora_A.weight", ".lora_A.default.weight")
            target = target.replace(".lora_B.weight", ".lora_B.default.weight")
            # DoRA's magnitudes (use_dora: true).
            target = target.replace(".lora_magnitude_vector",
                                    ".lora_magnitude_vector.default.weight")
            if target not in state:
                problems.append(f"PEFT has no parameter for '{key}'")
                continue
            used.add(target)
            if not torch.equal(state[target].to(torch.float32),
                               f.get_tensor(key).to(torch.float32)):
                problems.append(f"'{key}' did not load into '{target}'")
    for name in state:
        if ("lora_A" in name or "lora_B" in name or
                "lora_magnitude_vector" in name) and name not in used:
            problems.append(f"'{name}' was not in the folder")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("adapter")
    parser.add_argument("logits")
    parser.add_argument("--model")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    config = PeftConfig.from_pretrained(args.adapter)
    if config.peft_type != "LORA":
        print(f"error: {args.adapter} is a {config.peft_type} adapter; this "
              "check compares LoRA adapters", file=sys.stderr)
        return 2
    tokens, want, logits_model = read_logits(args.logits)
    model_dir = None
    for candidate in (args.model, config.base_model_name_or_path,
                      logits_model):
        if candidate and resolve(candidate):
            model_dir = resolve(candidate)
            break
    if model_dir is None:
        print("error: no base model folder found; pass --model",
              file=sys.stderr)
        return 2

    base = AutoModelForCausalLM.from_pretrained(model_dir,
                                                torch_dtype=torch.float32)
    model = PeftModel.from_pretrained(base, args.adapter).eval()
    problems = check_loaded_tensors(model, args.adapter)
    with torch.no_grad():
        got = model(input_ids=torch.tensor([tokens])).logits[0]
    got = got.to(torch.float32)
    if got.shape != want.shape:
        print(f"FAIL: PEFT's logits are {tuple(got.shape)}, ftl's "
              f"{tuple(want.shape)}")
        return 1
    diff = (want - got).abs()
    max_abs = diff.max().item()
    max_rel = (diff / got.abs().clamp(min=1.0)).max().item()
    print(f"adapter {args.adapter} on {model_dir} ({len(tokens)} tokens)")
    print(f"max abs difference {max_abs:.3g}, max rel difference "
          f"{max_rel:.3g} (|ftl - peft| / max(|peft|, 1))")
    for p in problems:
        print(f"problem: {p}")
    ok = max_rel <= args.tolerance and not problems
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
