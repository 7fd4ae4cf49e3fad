#!/usr/bin/env python3
"""Recomputes CoBa's task weights from the validation losses a run logged and
compares them with the weights it logged.

    coba_check.py <runs-root> --warmup W --history H --tau T

The run's metrics.jsonl holds one record per validation with "coba_val_loss"
(the tasks' validation losses) and "coba_weights" (the weights used from then
on). This script implements the balancer from its definition in
docs/objectives.md, independently of the C++ code: losses divided by the
first ones; least-squares slopes of the last H per task and of the per-row
maximum; relative convergence softmax(K s / sum|s|); absolute convergence
softmax over tasks of -n s_k / sum of task k's last n slopes' |.|;
divergence factor M softmax(-tau M S / sum|S|)[last]; weights
softmax(K (DF RCS + (1 - DF) ACS)) with the 1/(10K) floor. Prints the number
of updates checked and "ok", or the first mismatch.
"""
import argparse
import glob
import json
import math
import os
import sys


def slope(ys):
    n = len(ys)
    if n < 2:
        return 0.0
    mx = (n - 1) / 2.0
    my = sum(ys) / n
    num = sum((i - mx) * (y - my) for i, y in enumerate(ys))
    den = sum((i - mx) ** 2 for i in range(n))
    return num / den


def softmax(xs):
    m = max(xs)
    es = [math.exp(x - m) for x in xs]
    total = sum(es)
    return [e / total for e in es]


def scaled(xs, factor):
    total = sum(abs(x) for x in xs)
    return [factor * x / total if total > 0 else 0.0 for x in xs]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--history", type=int, required=True)
    parser.add_argument("--tau", type=float, required=True)
    args = parser.parse_args()
    runs = [d for d in glob.glob(os.path.join(args.root, "*")) if os.path.isdir(d)]
    if len(runs) != 1:
        sys.exit("expected one run under %s" % args.root)
    records = []
    with open(os.path.join(runs[0], "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "coba_weights" in r:
                records.append(r)
    if not records:
        sys.exit("no coba records")
    K = len(records[0]["coba_weights"])
    first = [l if l > 0 else 1.0 for l in records[0]["coba_val_loss"]]
    history = [[] for _ in range(K)]
    slopes = [[] for _ in range(K)]
    totals = []
    weights = [1.0 / K] * K
    updates = 0
    for r in records:
        for k in range(K):
            history[k].append(r["coba_val_loss"][k] / first[k])
        step = r["step"]
        if step >= args.warmup and step > 0:
            s = [slope(history[k][-args.history:]) for k in range(K)]
            for k in range(K):
                slopes[k].append(s[k])
            rows = len(history[0][-args.history:])
            worst = [max(history[k][i] for k in range(K))
                     for i in range(len(history[0]) - rows, len(history[0]))]
            totals.append(slope(worst))
            rcs = softmax(scaled(s, K))
            acs_logits = []
            for k in range(K):
                window = slopes[k][-args.history:]
                acs_logits.append(scaled(window, -len(window))[-1])
            acs = softmax(acs_logits)
            M = len(totals)
            df = M * softmax(scaled(totals, -M * args.tau))[-1]
            weights = softmax([K * (df * rcs[k] + (1 - df) * acs[k])
                               for k in range(K)])
            floor = 1.0 / (10 * K)
            if min(weights) < floor:
                weights = [w * (1 - floor * K) + floor for w in weights]
            updates += 1
        logged = r["coba_weights"]
        for k in range(K):
            if abs(logged[k] - weights[k]) > 1e-9:
                print("step %d task %d: logged %r, recomputed %r: FAIL"
                      % (step, k, logged[k], weights[k]))
                return
        if abs(sum(logged) - 1) > 1e-9 or min(logged) < 1.0 / (10 * K) - 1e-12:
            print("step %d: weights %r do not sum to 1 above the floor: FAIL"
                  % (step, logged))
            return
    print("%d updates checked: ok" % updates)


main()
