#!/usr/bin/env python3
"""Checks a likelihood judge's score against the training step's loss.

    score_vs_loss.py JUDGED.jsonl RUNS_ROOT --train K [--rtol R]

The first record's "score" (a mean token log-probability, from the
generation decoder's forward) must equal minus the first logged loss of
train K in the run's metrics.jsonl (the compiled step function's mean token
NLL on the same example), to R relative. Prints both and "ok" or "FAIL".
"""
import argparse
import glob
import json
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("judged")
ap.add_argument("runs")
ap.add_argument("--train", type=int, required=True)
ap.add_argument("--rtol", type=float, default=1e-6)
args = ap.parse_args()
with open(args.judged) as f:
    score = json.loads(f.readline())["score"]
runs = [d for d in glob.glob(os.path.join(args.runs, "*")) if os.path.isdir(d)]
if len(runs) != 1:
    sys.exit("expected one run under %s" % args.runs)
loss = None
with open(os.path.join(runs[0], "metrics.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        if r.get("train") == args.train and "loss" in r:
            loss = r["loss"]
            break
if loss is None:
    sys.exit("no loss of train %d" % args.train)
ok = abs(score + loss) <= args.rtol * abs(loss)
print("score %.9g, loss %.9g: %s" % (score, loss, "ok" if ok else "FAIL"))
