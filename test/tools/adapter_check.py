#!/usr/bin/env python3
"""Checks what half and sparse fine-tuning changed, from the checkpoints of
two runs folders (each holding one run): INIT, the same script with lr 0 (the
initial weights), and RUN, the trained one. Parsed without any library.

  adapter_check.py half INIT RUN
      For every half fine-tuning round logged in RUN's metrics ("trained":
      the modules chosen), compares the checkpoints at the round's start and
      end (save_every at the round length): the modules that changed must be
      exactly the chosen ones, every other tensor bitwise equal, and the Adam
      moments of the frozen modules unchanged. Prints per round the trained
      count per layer and category, and "ok" or FAIL lines.

  adapter_check.py sparse INIT RUN --tensors REGEX --density D
                   [--pick magnitude|principal --rank R]
      Every tensor whose ftl name matches REGEX must have exactly
      k = round(D * numel) changed entries; with --pick they must be the k
      largest |W| (magnitude) or the k largest |W_r| of the rank-R
      approximation of the initial W (principal, by a Jacobi
      eigen-decomposition here); all other entries and tensors bitwise
      equal. Prints one line per tensor, and the optimizer state size.

  adapter_check.py sparse INIT RUN --tensors REGEX --density D
                   --pick lottery --finetuned FT
      The same for LT-SFT: the changed entries must be the k largest
      |W_FT - W_INIT|. INIT, RUN and FT may also be model folders
      (`save m to ...`).

  adapter_check.py structured INIT RUN --heads H --channels C --head-dim D
                   --group G
      S2FT: in every layer, the changed entries of q, k, v are whole rows and
      of o whole columns of the same H key/value heads (D rows of k and v,
      G*D rows of q and columns of o per head), and those of gate and up
      whole rows and of down whole columns of the same C channels; every
      other tensor is bitwise equal. Prints one line per layer.

  adapter_check.py changed A B
      The tensors (ftl names) whose final values differ between two runs,
      one per line, then "N of M tensors changed".

  adapter_check.py ratio INIT PLAIN RUN
      Per tensor, the update of RUN divided by the update of PLAIN (both from
      INIT's values; entries PLAIN did not move are skipped), as
      "name: min..max" with 3 decimals: the learning-rate factor of each
      tensor when the two runs differ only in it (one AdamW step).

  adapter_check.py compose THETA0 COMPOSED --trained TRAINED...
      LT-SFT composition (model folders): each TRAINED is THETA0
      fine-tuned by one sparse adapter, COMPOSED is THETA0 with their saved
      diffs loaded. Every entry must equal THETA0 + the sum of (TRAINED -
      THETA0) within 4 ulp of its largest term; entries no run changed
      must be bitwise THETA0's. Prints the entries each run changed, then
      "composed: N entries changed; ok" (or FAIL lines).

  adapter_check.py loss0 A B --rtol R [--train-a K]
      The first logged loss of the two runs agree to R relative (of A's
      train K, when given).
"""
import argparse
import glob
import json
import math
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
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = (tuple(info["shape"]),
                     struct.unpack("<%df" % ((end - begin) // 4),
                                   data[base + begin:base + end]))
    return out


HF = [
    (r"^model\.embed_tokens\.weight$", "embed.weight"),
    (r"^model\.norm\.weight$", "final_norm.weight"),
    (r"^lm_head\.weight$", "head.weight"),
    (r"^model\.layers\.(\d+)\.self_attn\.(q|k|v|o)_proj\.(weight|bias)$",
     r"layers.\1.attn.\2.\3"),
    (r"^model\.layers\.(\d+)\.mlp\.(gate|up|down)_proj\.weight$",
     r"layers.\1.mlp.\2.weight"),
    (r"^model\.layers\.(\d+)\.input_layernorm\.weight$",
     r"layers.\1.attn_norm.weight"),
    (r"^model\.layers\.(\d+)\.post_attention_layernorm\.weight$",
     r"layers.\1.mlp_norm.weight"),
]


def ftl_name(hf):
    for pattern, repl in HF:
        if re.match(pattern, hf):
            return re.sub(pattern, repl, hf)
    return hf  # adapter tensors keep their ftl names


def run_folder(root):
    runs = [d for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)]
    if len(runs) != 1:
        sys.exit("expected one run under %s, found %d" % (root, len(runs)))
    return runs[0]


def checkpoints(root):
    """{step: folder} of the run's train0 checkpoints (final = last); a
    model folder is its own single point."""
    if os.path.exists(os.path.join(root, "model.safetensors")):
        return {0: root}
    base = os.path.join(run_folder(root), "checkpoints", "train0")
    out = {}
    for d in glob.glob(os.path.join(base, "step-*")):
        out[int(d.rsplit("-", 1)[1])] = d
    final = os.path.join(base, "final")
    with open(os.path.join(final, "state.json")) as f:
        out[json.load(f)["step"]] = final
    return out


def model(folder):
    return {ftl_name(k): v
            for k, v in read_safetensors(
                os.path.join(folder, "model.safetensors")).items()}


def optimizer(folder):
    path = os.path.join(folder, "optimizer.safetensors")
    return read_safetensors(path) if os.path.exists(path) else {}


def metrics(root):
    with open(os.path.join(run_folder(root), "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def module_of(tensor):
    return tensor.rsplit(".", 1)[0]


def category(module):
    part = module.split(".")[2]
    return "norm" if part.endswith("_norm") else part


def check_half(args):
    failures = 0
    init_points = checkpoints(args.init)
    init = model(init_points[max(init_points)])
    points = checkpoints(args.run)
    rounds = [r for r in metrics(args.run) if "half" in r]
    if not rounds:
        sys.exit("no half fine-tuning rounds in the metrics")
    last_step = max(points)
    for i, r in enumerate(rounds):
        start = r["step"] - 1
        end = rounds[i + 1]["step"] - 1 if i + 1 < len(rounds) else last_step
        before = init if start == 0 else model(points[start])
        if end not in points:
            sys.exit("no checkpoint at step %d (save_every must be the round "
                     "length)" % end)
        after = model(points[end])
        changed = set()
        for name, (shape, values) in after.items():
            if values != before[name][1]:
                changed.add(name)
        chosen = set(r["trained"])
        layer_tensors = [n for n in after if n.startswith("layers.")]
        changed_modules = {module_of(n) for n in changed}
        wrong = changed_modules ^ chosen
        outside = [n for n in changed if not n.startswith("layers.")]
        counts = {}
        for m in chosen:
            key = (int(m.split(".")[1]), category(m))
            counts[key] = counts.get(key, 0) + 1
        totals = {}
        for n in layer_tensors:
            key = (int(n.split(".")[1]), category(module_of(n)))
            totals[key] = totals.get(key, 0) + 1
        layers = sorted({k[0] for k in totals})
        parts = []
        for cat in ["attn", "mlp", "norm"]:
            parts.append("%s %s" % (cat, " ".join(
                "%d/%d" % (counts.get((l, cat), 0), totals.get((l, cat), 0))
                for l in layers)))
        mlp_total = sum(v for k, v in counts.items() if k[1] == "mlp")
        mlp_all = sum(v for k, v in totals.items() if k[1] == "mlp")
        print("round %d (steps %d-%d): %s; mlp %d/%d model-wide" %
              (r["round"], start + 1, end, ", ".join(parts), mlp_total,
               mlp_all))
        if wrong or outside:
            failures += 1
            print("FAIL: changed modules differ from the chosen ones: %s %s" %
                  (sorted(wrong), sorted(outside)))
        # Adam moments of frozen modules: unchanged over the round.
        if start > 0:
            s0, s1 = optimizer(points[start]), optimizer(points[end])
            for name, (shape, values) in s1.items():
                slot, tensor = name.split("/", 1)
                if module_of(tensor) not in chosen and name in s0 and \
                        s0[name][1] != values:
                    failures += 1
                    print("FAIL: moment %s of a frozen module moved" % name)
    print("changed == chosen, frozen bitwise: %s" %
          ("ok" if failures == 0 else "FAIL"))
    return failures


def jacobi_lowrank(values, rows, cols, rank):
    """W V_r V_r^T by cyclic Jacobi on W^T W (double precision)."""
    n = cols
    g = [[sum(values[i * cols + a] * values[i * cols + b]
              for i in range(rows)) for b in range(n)] for a in range(n)]
    v = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    for _ in range(100):
        off = sum(g[p][q] ** 2 for p in range(n) for q in range(p + 1, n))
        if off < 1e-30:
            break
        for p in range(n):
            for q in range(p + 1, n):
                apq = g[p][q]
                if apq == 0:
                    continue
                theta = (g[q][q] - g[p][p]) / (2 * apq)
                t = (1.0 if theta >= 0 else -1.0) / \
                    (abs(theta) + math.sqrt(theta * theta + 1))
                c = 1 / math.sqrt(t * t + 1)
                s = t * c
                for k in range(n):
                    gkp, gkq = g[k][p], g[k][q]
                    g[k][p], g[k][q] = c * gkp - s * gkq, s * gkp + c * gkq
                for k in range(n):
                    gpk, gqk = g[p][k], g[q][k]
                    g[p][k], g[q][k] = c * gpk - s * gqk, s * gpk + c * gqk
                for k in range(n):
                    vkp, vkq = v[k][p], v[k][q]
                    v[k][p], v[k][q] = c * vkp - s * vkq, s * vkp + c * vkq
    order = sorted(range(n), key=lambda i: -g[i][i])[:rank]
    out = [0.0] * (rows * cols)
    for c in order:
        col = [v[j][c] for j in range(n)]
        for i in range(rows):
            wv = sum(values[i * cols + j] * col[j] for j in range(cols))
            for j in range(cols):
                out[i * cols + j] += wv * col[j]
    return out


def check_sparse(args):
    failures = 0
    init_points, run_points = checkpoints(args.init), checkpoints(args.run)
    init = model(init_points[max(init_points)])
    final = model(run_points[max(run_points)])
    states = optimizer(run_points[max(run_points)])
    if args.pick == "lottery":
        if not args.finetuned:
            sys.exit("--pick lottery needs --finetuned FT")
        points = checkpoints(args.finetuned)
        finetuned = model(points[max(points)])
    selected = 0
    for name in sorted(final):
        shape, values = final[name]
        before = init[name][1]
        changed = [i for i, (a, b) in enumerate(zip(before, values)) if a != b]
        if not re.search(args.tensors, name):
            if changed:
                failures += 1
                print("FAIL: %s is outside the adapter but %d entries "
                      "changed" % (name, len(changed)))
            continue
        selected += 1
        numel = len(values)
        k = min(numel, max(1, int(math.floor(args.density * numel + 0.5))))
        line = "%s: %d of %d changed (k %d)" % (name, len(changed), numel, k)
        if len(changed) != k:
            failures += 1
            line += " FAIL"
        if args.pick:
            if args.pick == "magnitude":
                score = [abs(x) for x in before]
            elif args.pick == "lottery":
                tuned = finetuned[name][1]
                score = [abs(t - b) for t, b in zip(tuned, before)]
            else:
                score = [abs(x) for x in
                         jacobi_lowrank(before, shape[0], shape[1], args.rank)]
            top = sorted(range(numel), key=lambda i: (-score[i], i))[:k]
            same = set(top) == set(changed)
            line += ", the top-%d of %s: %s" % (
                k, {"magnitude": "|W|", "principal": "|W_r|",
                    "lottery": "|W_FT - W|"}[args.pick],
                "yes" if same else "no FAIL")
            failures += not same
        slots = [n for n in states if n.endswith("/" + name)]
        sizes = sorted({len(states[n][1]) for n in slots})
        line += "; optimizer %s x %s entries" % (len(slots), sizes)
        print(line)
    if selected == 0:
        sys.exit("no tensor matches %s" % args.tensors)
    print("sparse: %s" % ("ok" if failures == 0 else "FAIL"))
    return failures


def check_structured(args):
    init, final = final_model(args.init), final_model(args.run)
    failures = 0
    layers = sorted({int(n.split(".")[1]) for n in final if n.startswith("layers.")})
    for name in sorted(final):
        if not re.match(r"layers\.\d+\.(attn\.[qkvo]|mlp\.(gate|up|down))\.weight$", name):
            if init[name][1] != final[name][1]:
                failures += 1
                print("FAIL: %s changed" % name)
    for layer in layers:
        sets = {}
        for module, width, cols, kind in [
                ("attn.q", args.group * args.head_dim, False, "heads"),
                ("attn.k", args.head_dim, False, "heads"),
                ("attn.v", args.head_dim, False, "heads"),
                ("attn.o", args.group * args.head_dim, True, "heads"),
                ("mlp.gate", 1, False, "channels"),
                ("mlp.up", 1, False, "channels"),
                ("mlp.down", 1, True, "channels")]:
            name = "layers.%d.%s.weight" % (layer, module)
            if name not in final:
                continue
            (rows, ncols), after = final[name]
            before = init[name][1]
            changed = {i for i, (a, b) in enumerate(zip(before, after)) if a != b}
            lines = {(i % ncols if cols else i // ncols) // width for i in changed}
            span = rows if cols else ncols
            whole = len(changed) == len(lines) * width * span
            sets.setdefault(kind, []).append((module, lines, whole))
        for kind, entries in sorted(sets.items()):
            want = args.heads if kind == "heads" else args.channels
            first = entries[0][1]
            same = all(e[1] == first for e in entries)
            whole = all(e[2] for e in entries)
            ok = same and whole and len(first) == want
            failures += not ok
            print("layer %d: %d %s %s in %s, whole: %s, same units: %s%s" % (
                layer, len(first), kind, sorted(first),
                " ".join(e[0] for e in entries), "yes" if whole else "no",
                "yes" if same else "no", "" if ok else " FAIL"))
    print("structured: %s" % ("ok" if failures == 0 else "FAIL"))
    return failures


def final_model(root):
    points = checkpoints(root)
    return model(points[max(points)])


def check_changed(args):
    a, b = final_model(args.init), final_model(args.run)
    names = sorted(set(a) & set(b))
    changed = [n for n in names if a[n][1] != b[n][1]]
    for n in changed:
        print(n)
    print("%d of %d tensors changed" % (len(changed), len(names)))
    return 0


def check_ratio(args):
    init, plain, run = (final_model(args.init), final_model(args.run),
                        final_model(args.extra))
    for name in sorted(init):
        ratios = [(r - i) / (p - i) for i, p, r in
                  zip(init[name][1], plain[name][1], run[name][1]) if p != i]
        if not ratios:
            print("%s: not moved" % name)
            continue
        print("%s: %.3f..%.3f" % (name, min(ratios), max(ratios)))
    return 0


def check_compose(args):
    theta0, composed = model(args.init), model(args.run)
    trained = [model(folder) for folder in args.trained]
    for folder, run in zip(args.trained, trained):
        changed = sum(1 for t in theta0
                      for a, b in zip(theta0[t][1], run[t][1]) if a != b)
        print("%s changed %d entries" % (os.path.basename(folder), changed))
    failures = total = 0
    for t in sorted(theta0):
        for i, base in enumerate(theta0[t][1]):
            deltas = [run[t][1][i] - base for run in trained]
            got = composed[t][1][i]
            if all(d == 0 for d in deltas):
                bad = got != base
            else:
                total += 1
                scale = max([abs(base)] + [abs(run[t][1][i]) for run in trained])
                bad = abs(got - (base + sum(deltas))) > 4 * 1.2e-7 * scale
            if bad:
                failures += 1
                if failures < 5:
                    print("FAIL: %s[%d] = %r" % (t, i, got))
    print("composed: %d entries changed; %s"
          % (total, "ok" if failures == 0 else "FAIL"))
    return failures


def check_loss0(args):
    def first_loss(root, train):
        return next(r["loss"] for r in metrics(root)
                    if "loss" in r and (train is None or r.get("train") == train))
    first = [first_loss(args.init, args.train_a), first_loss(args.run, None)]
    diff = abs(first[0] - first[1]) / max(abs(first[0]), 1e-30)
    print("first losses %.9g %.9g: %s" % (first[0], first[1],
                                         "ok" if diff <= args.rtol else "FAIL"))
    return 0 if diff <= args.rtol else 1


ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["half", "sparse", "structured", "changed",
                                 "ratio", "loss0", "compose"])
ap.add_argument("init")
ap.add_argument("run")
ap.add_argument("extra", nargs="?")
ap.add_argument("--train-a", type=int, default=None)
ap.add_argument("--trained", nargs="+", default=[])
ap.add_argument("--rtol", type=float, default=0)
ap.add_argument("--tensors", default="")
ap.add_argument("--density", type=float, default=0)
ap.add_argument("--pick", choices=["magnitude", "principal", "lottery"])
ap.add_argument("--finetuned", default="")
ap.add_argument("--rank", type=int, default=0)
ap.add_argument("--heads", type=int, default=0)
ap.add_argument("--channels", type=int, default=0)
ap.add_argument("--head-dim", type=int, default=0)
ap.add_argument("--group", type=int, default=1)
args = ap.parse_args()
bad = {"half": check_half, "sparse": check_sparse,
       "structured": check_structured, "changed": check_changed,
       "ratio": check_ratio, "loss0": check_loss0,
       "compose": check_compose}[args.mode](args)
sys.exit(1 if bad else 0)
