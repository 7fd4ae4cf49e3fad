#!/usr/bin/env python3
"""Training throughput and peak memory: ftl against the PyTorch peer.

Runs, alternately and side by side, `ftl run` on a generated script and the
PyTorch peer (../shared/bench/torch_lora_step.py, or --peer PATH) on the same
model shape, batch, sequence length, optimizer (AdamW) and thread count, for
the shapes of the issues:

  tiny:  GPT-2 style, 4 layers, dim 256, 4 heads, vocab 4096, seq 256, batch 8
  gpt2s: GPT-2 small, 12 layers, dim 768, 12 heads, vocab 50257, seq 512, batch 4

in full fine-tuning and LoRA (rank 8, alpha 16 on q and v, base frozen) modes.
ftl's tokens/s is tokens per optimizer step over the median step time after
the warm-up steps (from the run's metrics.jsonl); peak RSS is the whole
process's (GNU time's "Maximum resident set size"). The peer runs with its best
fp32 configuration from its README (OPENBLAS_CORETYPE=SkylakeX, --threads 1:
OpenBLAS's own 2-thread pool). Prints a markdown table with medians over
--repeats and the ratios ftl/peer.

  bench/train/run.py [--ftl build/bin/ftl] [--shapes tiny,gpt2s]
                     [--modes full,lora] [--repeats 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPES = {
    "tiny": dict(layers=4, dim=256, heads=4, vocab=4096, seq=256, batch=8,
                 steps=12, warmup=2),
    "gpt2s": dict(layers=12, dim=768, heads=12, vocab=50257, seq=512, batch=4,
                  steps=6, warmup=1),
}


def script(shape, mode):
    s = SHAPES[shape]
    adapter = ("adapter a = lora(rank: 8, alpha: 16) on m.layers[*].attn.{q, v}\n"
               if mode == "lora" else "")
    return (
        "seed 1\n"
        f"model m = gpt2(vocab: {s['vocab']}, dim: {s['dim']}, layers: {s['layers']}, "
        f"heads: {s['heads']}, ctx: {s['seq']})\n"
        "tokenizer tok = bytes()\n"
        f"data corpus = text(\"{ROOT}/examples/data/corpus.txt\")\n"
        + adapter +
        f"train m with lm(corpus) using adamw(lr: 1e-4) steps {s['steps']} "
        f"batch {s['batch']} seq {s['seq']}\n")


def max_rss_mib(time_output):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_output)
    return int(m.group(1)) / 1024 if m else float("nan")


def run_ftl(ftl, shape, mode, threads, work):
    s = SHAPES[shape]
    path = os.path.join(work, f"{shape}-{mode}.ftl")
    with open(path, "w") as f:
        f.write(script(shape, mode))
    runs = os.path.join(work, "runs")
    out = subprocess.run(
        ["/usr/bin/time", "-v", ftl, "run", "--quiet", f"--threads={threads}",
         f"--run-dir={runs}", path],
        capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("ftl failed:\n" + out.stderr[-3000:])
    folder = re.search(r"run folder: (\S+)", out.stdout + out.stderr).group(1)
    times = []
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "step" in record and "time" in record:
                times.append(record["time"])
    steps = [b - a for a, b in zip(times, times[1:])][s["warmup"]:]
    tokens = s["batch"] * s["seq"]
    return tokens / statistics.median(steps), max_rss_mib(out.stderr)


def run_peer(peer, shape, mode, work):
    s = SHAPES[shape]
    report = os.path.join(work, "peer.json")
    if os.path.exists(report):
        os.remove(report)
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    cmd = ["/usr/bin/python3", peer, "--threads", "1", "--mode", mode,
           "--layers", str(s["layers"]), "--dim", str(s["dim"]),
           "--heads", str(s["heads"]), "--vocab", str(s["vocab"]),
           "--seq", str(s["seq"]), "--batch", str(s["batch"]),
           "--steps", str(s["steps"] - s["warmup"]), "--warmup", str(s["warmup"]),
           "--json", report]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit("peer failed:\n" + out.stderr[-3000:])
    with open(report) as f:
        result = json.loads(f.readline())
    return result["tokens_per_s"], result["peak_rss_mib"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ftl", default=os.path.join(ROOT, "build", "bin", "ftl"))
    ap.add_argument("--peer", default=os.path.join(os.path.dirname(ROOT), "shared",
                                                   "bench", "torch_lora_step.py"))
    ap.add_argument("--shapes", default="tiny,gpt2s")
    ap.add_argument("--modes", default="full,lora")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if not os.path.exists(args.peer):
        sys.exit(f"the PyTorch peer is not at {args.peer} (pass --peer)")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for shape in args.shapes.split(","):
            for mode in args.modes.split(","):
                ftl_tps, ftl_rss, peer_tps, peer_rss = [], [], [], []
                for r in range(args.repeats):
                    t, m = run_ftl(args.ftl, shape, mode, args.threads, work)
                    ftl_tps.append(t)
                    ftl_rss.append(m)
                    t, m = run_peer(args.peer, shape, mode, work)
                    peer_tps.append(t)
                    peer_rss.append(m)
                    print(f"{shape} {mode} #{r + 1}: ftl {ftl_tps[-1]:.0f} tok/s "
                          f"{ftl_rss[-1]:.0f} MiB, peer {peer_tps[-1]:.0f} tok/s "
                          f"{peer_rss[-1]:.0f} MiB", file=sys.stderr, flush=True)
                rows.append((shape, mode, statistics.median(ftl_tps),
                             statistics.median(peer_tps),
                             statistics.median(ftl_rss),
                             statistics.median(peer_rss)))
    print("| shape | mode | ftl tok/s | peer tok/s | ratio | ftl peak RSS | "
          "peer peak RSS | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for shape, mode, ft, pt, fm, pm in rows:
        print(f"| {shape} | {mode} | {ft:,.0f} | {pt:,.0f} | {ft / pt:.2f}x | "
              f"{fm:,.0f} MiB | {pm:,.0f} MiB | {fm / pm:.2f}x |")


main()
