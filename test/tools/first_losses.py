#!/usr/bin/env python3
"""Prints the first logged loss of every train of the only run under a runs
root, at full precision: "train <k> first loss <repr>"."""
import glob
import json
import os
import sys

runs = [d for d in glob.glob(os.path.join(sys.argv[1], "*")) if os.path.isdir(d)]
if len(runs) != 1:
    sys.exit("expected one run under %s" % sys.argv[1])
seen = set()
with open(os.path.join(runs[0], "metrics.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        if r.get("step") == 1 and r.get("train") not in seen:
            seen.add(r["train"])
            print("train %d first loss %r" % (r["train"], r["loss"]))
