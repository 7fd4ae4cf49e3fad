#!/usr/bin/env bash
#===- run.sh - ftl generate() vs transformers generate() -------------------===#
#
# Part of the ftl project.
#
#===------------------------------------------------------------------------===#
#
# In one run, on the same model, prompts and thread count, measures tokens/s
# of ftl's generate (ftl-generate-bench) and of transformers' generate
# (hf_generate.py), greedy and sampled, and prints a table with the ratio.
# For greedy decoding it also says whether both produced the same ids.
#
#   bench/generate/run.sh [build-dir] [model-dir]
#
# Environment: PROMPTS (8), PROMPT_LEN (16), NEW_TOKENS (32), THREADS (2),
# REPS (5, odd). Needs the ftl-generate-bench target built in build-dir
# (default build-h8: `ninja -C build-h8 ftl-generate-bench`) and the Python
# environment at .venv.
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build-h8}"
MODEL="${2:-$ROOT/test/fixtures/models/tiny-llama}"
PROMPTS="${PROMPTS:-8}"
PROMPT_LEN="${PROMPT_LEN:-16}"
NEW_TOKENS="${NEW_TOKENS:-32}"
THREADS="${THREADS:-2}"
REPS="${REPS:-5}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
BENCH="$BUILD/bin/ftl-generate-bench"
[[ -x "$BENCH" ]] || { echo "missing $BENCH; build it: ninja -C $BUILD ftl-generate-bench" >&2; exit 1; }

ARGS=("$PROMPTS" "$PROMPT_LEN" "$NEW_TOKENS" "$THREADS" "$REPS")
rate() { sed -n 's/.* \([0-9.]*\) tokens\/s median.*/\1/p' <<<"$1"; }
sum() { sed -n 's/.*checksum \([0-9]*\)$/\1/p' <<<"$1"; }

echo "model $(basename "$MODEL"), $PROMPTS prompts x $PROMPT_LEN tokens, $NEW_TOKENS new tokens each, $THREADS threads, median of $REPS runs"
rows=()
for mode in greedy sampled; do
  ftl=$(FTL_NUM_THREADS=$THREADS "$BENCH" "$MODEL" "$mode" "${ARGS[@]}")
  hf=$(OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
       "$PY" "$ROOT/bench/generate/hf_generate.py" "$MODEL" "$mode" "${ARGS[@]}" 2>/dev/null)
  echo "$ftl"
  echo "$hf"
  same="-"
  if [[ "$mode" == greedy ]]; then
    if [[ "$(sum "$ftl")" == "$(sum "$hf")" ]]; then same="identical"; else same="differ"; fi
  fi
  rows+=("$(awk -v m="$mode" -v f="$(rate "$ftl")" -v h="$(rate "$hf")" -v s="$same" \
    'BEGIN { printf "| %-7s | %12.0f | %12.0f | %6.1fx | %-9s |", m, f, h, f / h, s }')")
done
echo
echo "| mode    | ftl tokens/s | HF tokens/s  | ratio   | greedy ids |"
echo "|---------|--------------|--------------|---------|------------|"
printf '%s\n' "${rows[@]}"
