#!/usr/bin/env python3
"""Checks a linear relation between the parameter updates of several runs.

    updates.py BASE NAME=ROOT... --expect "A = 0.7*B + 0.3*C" [--rtol R]
    updates.py BASE NAME=ROOT... --norms

With --norms, prints the Euclidean norm of each run's update, in the order
given, and "strictly decreasing" or "not strictly decreasing".

A term may be `c*sign(BASE)`: c times the sign of BASE's parameters (0 at 0),
the update an L1 penalty adds under SGD.

Each ROOT (and BASE) is a runs folder holding one run; its final checkpoint's
model.safetensors is read (float32 tensors, parsed here without any
library). The update of a run is its final parameters minus BASE's (a run
that did not move, e.g. lr 0). The relation is checked over all tensors at
once: |lhs - rhs| / |lhs| <= rtol (Euclidean norms); rtol 0 demands bitwise
equal updates. Prints the relative error and "ok" or "FAIL".
"""
import argparse
import glob
import json
import os
import re
import struct
import sys


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    base = 8 + size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit("%s: %s is %s, expected F32" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        count = (end - begin) // 4
        tensors[name] = struct.unpack("<%df" % count, data[base + begin:base + end])
    return tensors


def final_model(root):
    runs = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
    if len(runs) != 1:
        sys.exit("expected one run under %s, found %d" % (root, len(runs)))
    finals = sorted(glob.glob(os.path.join(runs[0], "checkpoints", "*", "final",
                                           "model.safetensors")))
    if len(finals) != 1:
        sys.exit("expected one final checkpoint under %s" % runs[0])
    return read_safetensors(finals[0])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--expect")
    parser.add_argument("--norms", action="store_true")
    parser.add_argument("--rtol", type=float, default=1e-6)
    args = parser.parse_args()
    base = final_model(args.base)
    updates = {}
    for spec in args.runs:
        name, root = spec.split("=", 1)
        model = final_model(root)
        if model.keys() != base.keys():
            sys.exit("%s has other tensors than the base" % name)
        updates[name] = {k: [a - b for a, b in zip(model[k], base[k])]
                         for k in base}
    if args.norms:
        names = [spec.split("=", 1)[0] for spec in args.runs]
        norms = [sum(v * v for k in base for v in updates[n][k]) ** 0.5
                 for n in names]
        for n, value in zip(names, norms):
            print("|update %s| = %.6g" % (n, value))
        decreasing = all(a > b for a, b in zip(norms, norms[1:]))
        print("strictly decreasing" if decreasing else "not strictly decreasing")
        return
    if not args.expect:
        sys.exit("give --expect or --norms")
    lhs_name, rhs = [s.strip() for s in args.expect.split("=")]
    terms = []  # (coefficient, name)
    for term in re.split(r"\s*\+\s*", rhs):
        if "*" in term:
            c, n = term.split("*")
            terms.append((float(c), n.strip()))
        else:
            terms.append((1.0, term.strip()))
    diff2 = norm2 = 0.0
    for k in base:
        lhs = updates[lhs_name][k]
        for i, value in enumerate(lhs):
            expected = 0.0
            for c, n in terms:
                if n == "sign(BASE)":
                    b = base[k][i]
                    expected += c * ((b > 0) - (b < 0))
                else:
                    expected += c * updates[n][k][i]
            diff2 += (value - expected) ** 2
            norm2 += value * value
    if norm2 == 0:
        sys.exit("the update of %s is zero: nothing was tested" % lhs_name)
    rel = (diff2 / norm2) ** 0.5
    ok = rel <= args.rtol if args.rtol > 0 else diff2 == 0
    print("relative error %.3g: %s" % (rel, "ok" if ok else "FAIL"))


main()
