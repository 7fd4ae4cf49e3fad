#!/usr/bin/env python3
"""Compares the final checkpoints of the one run under each of two runs
roots byte for byte; prints "identical" or what differs."""
import filecmp
import glob
import os
import sys


def final_dir(root):
    runs = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
    if len(runs) != 1:
        sys.exit("expected one run under %s" % root)
    finals = sorted(glob.glob(os.path.join(runs[0], "checkpoints", "*", "final")))
    if not finals:
        sys.exit("no final checkpoint under %s" % runs[0])
    return finals


a, b = final_dir(sys.argv[1]), final_dir(sys.argv[2])
if len(a) != len(b):
    sys.exit("different numbers of checkpoints")
differ = []
count = 0
for da, db in zip(a, b):
    for name in ["model.safetensors", "optimizer.safetensors"]:
        count += 1
        if not filecmp.cmp(os.path.join(da, name), os.path.join(db, name), shallow=False):
            differ.append(os.path.join(os.path.basename(os.path.dirname(da)), name))
print("identical (%d files)" % count if not differ else "different: " + ", ".join(differ))
