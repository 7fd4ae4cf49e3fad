#!/usr/bin/env bash
#===- run.sh - runtime/data throughput -------------------------------------===#
#
# Part of the ftl project.
#
#===------------------------------------------------------------------------===#
#
# In one run on generated corpora prints: JSONL parsing MB/s (our parser,
# llvm::json for comparison, and the jsonl source end to end), MinHash dedup
# documents/s, and the token-cache speedup of a tokenize+pack pipeline (first
# run vs the cached second run) with a BPE fixture tokenizer and the byte
# tokenizer.
#
#   bench/data/run.sh [build-dir] [corpus-MB]
#
# Needs the ftl-data-bench target built in build-dir (default build-data:
# `ninja -C build-data ftl-data-bench`).
#===------------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build-data}"
MB="${2:-64}"
BENCH="$BUILD/bin/ftl-data-bench"
[[ -x "$BENCH" ]] || { echo "missing $BENCH; build it: ninja -C $BUILD ftl-data-bench" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
exec "$BENCH" --work "$WORK" --mb "$MB" \
  --tokenizer "$ROOT/test/fixtures/tokenizers/qwen2.json"
