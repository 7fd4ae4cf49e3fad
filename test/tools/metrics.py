#!/usr/bin/env python3
"""Reads the metrics.jsonl of the only run folder under a runs root and
prints facts lit tests check with FileCheck.

  metrics.py <runs-root> first-last <key>     -> "<key> first=<x> last=<y> decreased|not decreased"
  metrics.py <runs-root> values <key>          -> one line per record with the key

An optional last argument `train=<k>` keeps the records of train k alone.
"""
import glob
import json
import os
import sys

root, command, key = sys.argv[1], sys.argv[2], sys.argv[3]
only_train = None
if len(sys.argv) > 4:
    if not sys.argv[4].startswith("train="):
        sys.exit("unknown filter " + sys.argv[4])
    only_train = int(sys.argv[4][len("train="):])
folders = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
if len(folders) != 1:
    sys.exit("expected one run folder under %s, found %d" % (root, len(folders)))
records = []
with open(os.path.join(folders[0], "metrics.jsonl")) as f:
    for line in f:
        if line.strip():
            records.append(json.loads(line))
values = [r[key] for r in records
          if key in r and (only_train is None or r.get("train") == only_train)]
if not values:
    sys.exit("no '%s' in the metrics" % key)
if command == "first-last":
    first, last = values[0], values[-1]
    print("%s first=%.4f last=%.4f %s" % (key, first, last,
          "decreased" if last < first else "not decreased"))
elif command == "values":
    for v in values:
        print("%s=%s" % (key, v))
else:
    sys.exit("unknown command " + command)
