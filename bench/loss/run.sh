#!/usr/bin/env bash
#===- run.sh - fused vs unfused LM-head loss: memory and values -------------===#
#
# Part of the ftl project.
#
#===------------------------------------------------------------------------===#
#
# vocab 50257, seq 512, batch 4, hidden 768: one forward+backward of the
# cross-entropy loss (and of the per-token NLL form preference losses use),
# fused over vocabulary chunks and unfused, each in its own process. Prints
# peak RSS of each, their ratio, and the largest relative difference of the
# loss and of every gradient entry.
#
#   bench/loss/run.sh [build-dir]     (needs: ninja -C build ftl-loss-bench)
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build}"
BENCH="$BUILD/bin/ftl-loss-bench"
[[ -x "$BENCH" ]] || { echo "missing $BENCH; build it: ninja -C $BUILD ftl-loss-bench" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "| loss | fused peak RSS | unfused peak RSS | ratio | loss rel. diff | max grad diff / max grad |"
echo "|---|---|---|---|---|---|"
for loss in ce tokens; do
  f=$("$BENCH" --mode fused --loss $loss --out "$WORK/f.bin")
  u=$("$BENCH" --mode unfused --loss $loss --out "$WORK/u.bin")
  python3 - "$f" "$u" "$WORK/f.bin" "$WORK/u.bin" "$loss" <<'PY'
import array, re, sys
f, u, fb, ub, loss = sys.argv[1:]
def field(s, k): return float(re.search(k + r"=([-0-9.e+]+)", s).group(1))
a, b = array.array("f"), array.array("f")
a.frombytes(open(fb, "rb").read()); b.frombytes(open(ub, "rb").read())
scale = max(abs(x) for x in b) or 1.0
worst = max(abs(x - y) for x, y in zip(a, b)) / scale
lv, lu = field(f, "value"), field(u, "value")
rf, ru = field(f, "peak_rss_mib"), field(u, "peak_rss_mib")
print("| %s | %.0f MiB | %.0f MiB | %.2fx | %.1e | %.1e |" % (
    loss, rf, ru, rf / ru, abs(lv - lu) / max(abs(lu), 1e-30), worst))
PY
done
