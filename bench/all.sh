#!/usr/bin/env bash
# The whole benchmark suite, one part after the other (never two at once:
# each part needs the two cores to itself), about 75 minutes on the 2-core
# machine after the release build:
#   1. bench/ann.sh      the index against hnswlib, voyager, faiss (~45 min)
#   2. bench/server.sh   GraphQL under HTTP load against a bare route (~4 min)
#   3. bench/ingest.sh   Kafka ingest: catch-up tracks/s and freshness (~2 min)
#   4. bench/startup.sh  start-up and memory, shared dataset and 1M (~25 min
#                        the first time, with the 1M import; cached after)
# Each part's output goes to target/bench-all/<part>.txt as well as the
# terminal. Method and the latest results: BENCHMARKS.md.
# Usage: bench/all.sh [PART ...]   (default: every part)
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(ann server ingest startup)
mkdir -p target/bench-all
for part in "${parts[@]}"; do
  echo "=== bench/$part.sh ($(date -u +%H:%M:%S) UTC)"
  bash "bench/$part.sh" 2>&1 | tee "target/bench-all/$part.txt"
done
