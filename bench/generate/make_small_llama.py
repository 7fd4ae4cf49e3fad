#!/usr/bin/env python3
"""Writes a randomly initialised 56M-parameter Llama folder for the larger
data point of bench/generate/README.md (not committed: 225 MB).

    .venv/bin/python bench/generate/make_small_llama.py /tmp/small-llama

vocab 32000, hidden 512, 8 layers, 8 heads, 4 kv heads, intermediate 1408,
512 positions, untied head, float32, torch seed 0.
"""
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32000, hidden_size=512,
                         num_hidden_layers=8, num_attention_heads=8,
                         num_key_value_heads=4, intermediate_size=1408,
                         max_position_embeddings=512,
                         tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(sys.argv[1],
                                             safe_serialization=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
