#!/usr/bin/env python3
"""Checks that a logged metric rises round over round.

    rises.py <runs-root> <first-key> <key> [--by D]

Reads the only run under runs-root: the value of <first-key> (logged once,
before the rounds) then every value of <key> in order; prints the values and
"rises" when each is greater than the one before (and the last exceeds the
first by at least D, default 0), else "does not rise".
"""
import glob
import json
import os
import sys

root, first_key, key = sys.argv[1], sys.argv[2], sys.argv[3]
by = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--by" else 0.0
runs = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
if len(runs) != 1:
    sys.exit("expected one run under %s" % root)
values = []
with open(os.path.join(runs[0], "metrics.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        if first_key in r and not values:
            values.append(r[first_key])
        elif key in r and "r" not in r and values:
            values.append(r[key])
ok = len(values) >= 2 and all(b > a for a, b in zip(values, values[1:])) \
    and values[-1] - values[0] >= by
print(" ".join("%.4f" % v for v in values), "rises" if ok else "does not rise")
