#!/usr/bin/env bash
#===- run.sh - time `ftl check` on a generated 10,000-line script ----------===#
#
# Part of the ftl project.
#
#===------------------------------------------------------------------------===#
#
# Generates a realistic script (generate_script.py) and times `ftl check` on
# it: with hyperfine if it is installed, otherwise the best and the median of
# RUNS plain runs. The script must check without errors.
#
#   bench/check/run.sh [path/to/ftl] [lines] [runs]
#
# Defaults: build/bin/ftl, 10000 lines, 10 runs. Goal: under 1 s.
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
FTL="${1:-$ROOT/build/bin/ftl}"
LINES="${2:-10000}"
RUNS="${3:-10}"
[[ -x "$FTL" ]] || { echo "missing $FTL; build it: ninja -C build ftl" >&2; exit 1; }
PYTHON="$(command -v python3 || command -v python)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$PYTHON" "$ROOT/bench/check/generate_script.py" "$WORK" --lines "$LINES"
SCRIPT="$WORK/big.ftl"
LINES="$(wc -l < "$SCRIPT")"
if ! "$FTL" check "$SCRIPT" >/dev/null 2>"$WORK/diagnostics.txt"; then
  echo "the generated script does not check:" >&2
  head -20 "$WORK/diagnostics.txt" >&2
  exit 1
fi
if [[ -s "$WORK/diagnostics.txt" ]]; then
  echo "the generated script has warnings:" >&2
  head -20 "$WORK/diagnostics.txt" >&2
  exit 1
fi

if command -v hyperfine >/dev/null; then
  exec hyperfine --warmup 2 --runs "$RUNS" "$FTL check $SCRIPT"
fi

# Plain timing: wall-clock seconds of each run, then best and median.
times=()
for ((i = 0; i < RUNS + 1; ++i)); do
  start=$(date +%s.%N)
  "$FTL" check "$SCRIPT" >/dev/null
  end=$(date +%s.%N)
  # The first run warms the page cache and is not counted.
  ((i == 0)) || times+=("$(echo "$end - $start" | bc -l)")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v lines="$LINES" '
  { t[NR] = $1 }
  END {
    median = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    printf "ftl check, %d-line script, %d runs: best %.3f s, median %.3f s (%.1f us/line)\n",
           lines, NR, t[1], median, 1e6 * t[1] / lines
  }'
