#!/usr/bin/env python3
"""Compares the float32 tensors two safetensors files (or folders holding one
model.safetensors / adapter_model.safetensors) share by name.

    compare_safetensors.py A B [--atol X] [--only-common] [--exclude REGEX]

Prints "N tensors, max abs diff D: ok" (or FAIL); without --only-common the
two must hold the same names. Parsed without any library.
"""
import argparse
import json
import os
import struct
import sys


def read(path):
    if os.path.isdir(path):
        import glob
        finals = glob.glob(os.path.join(path, "*", "checkpoints", "*", "final"))
        if len(finals) == 1:  # a runs folder holding one run
            path = finals[0]
        for name in ["model.safetensors", "adapter_model.safetensors"]:
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = (tuple(info["shape"]),
                     struct.unpack("<%df" % ((end - begin) // 4),
                                   data[8 + size + begin:8 + size + end]))
    return out


ap = argparse.ArgumentParser()
ap.add_argument("a")
ap.add_argument("b")
ap.add_argument("--atol", type=float, default=0.0)
ap.add_argument("--only-common", action="store_true")
ap.add_argument("--exclude", default="", help="skip names matching this regex")
args = ap.parse_args()
a, b = read(args.a), read(args.b)
if args.exclude:
    import re
    a = {k: v for k, v in a.items() if not re.search(args.exclude, k)}
    b = {k: v for k, v in b.items() if not re.search(args.exclude, k)}
names = sorted(set(a) & set(b))
if not args.only_common and set(a) != set(b):
    sys.exit("different tensors: only in A %s, only in B %s" %
             (sorted(set(a) - set(b))[:5], sorted(set(b) - set(a))[:5]))
if not names:
    sys.exit("no tensors in common")
worst = 0.0
for n in names:
    if a[n][0] != b[n][0]:
        sys.exit("%s: shape %s vs %s" % (n, a[n][0], b[n][0]))
    worst = max(worst, max(abs(x - y) for x, y in zip(a[n][1], b[n][1])))
print("%d tensors, max abs diff %.3g: %s" % (len(names), worst,
                                             "ok" if worst <= args.atol else "FAIL"))
