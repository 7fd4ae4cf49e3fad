#!/usr/bin/env bash
#===- run.sh - ftl vs Hugging Face tokenizers throughput -------------------===#
#
# Part of the ftl project.
#
#===------------------------------------------------------------------------===#
#
# In one run, on the same generated corpus and 2 threads, measures ftl's
# encodeBatch and Hugging Face `tokenizers`' encode_batch (RAYON_NUM_THREADS=2)
# for the fixture tokenizers, checks both give the same ids (token count and
# checksum), and prints both throughputs and their ratio.
#
#   bench/tokenizer/run.sh [build-dir] [corpus-MB]
#
# Needs the ftl-tokenizer-bench target built in build-dir (default
# build-tok: `ninja -C build-tok ftl-tokenizer-bench`) and the Python
# environment at .venv.
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build-tok}"
MB="${2:-4}"
THREADS=2
PY="${PYTHON:-$ROOT/.venv/bin/python}"
BENCH="$BUILD/bin/ftl-tokenizer-bench"
[[ -x "$BENCH" ]] || { echo "missing $BENCH; build it: ninja -C $BUILD ftl-tokenizer-bench" >&2; exit 1; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CORPUS="$WORK/corpus.jsonl"
"$PY" "$ROOT/bench/tokenizer/make_corpus.py" "$CORPUS" --mb "$MB"

status=0
for name in gpt2 llama3 qwen2 sp_llama2; do
  TOK="$ROOT/test/fixtures/tokenizers/$name.json"
  ftl=$("$BENCH" "$TOK" "$CORPUS" "$THREADS" 3)
  hf=$(RAYON_NUM_THREADS=$THREADS "$PY" "$ROOT/bench/tokenizer/hf_bench.py" "$TOK" "$CORPUS")
  echo "== $name"
  echo "$ftl"
  echo "$hf"
  fmbs=$(sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p' <<<"$ftl")
  hmbs=$(sed -n 's/.* \([0-9.]*\) MB\/s$/\1/p' <<<"$hf")
  fsum=$(sed -n 's/.*tokens, checksum \([0-9a-f]*\),.*/\1/p' <<<"$ftl")
  hsum=$(sed -n 's/.*tokens, checksum \([0-9a-f]*\),.*/\1/p' <<<"$hf")
  if [[ "$fsum" != "$hsum" ]]; then
    echo "ids differ (checksum $fsum vs $hsum)"; status=1
  else
    echo "ids identical (checksum $fsum)"
  fi
  awk -v f="$fmbs" -v h="$hmbs" 'BEGIN { printf "ratio ftl/hf: %.2fx\n", f / h }'
done
exit $status
