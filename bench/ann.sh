#!/usr/bin/env bash
# The ANN comparison: timbre's index against hnswlib, voyager and faiss (HNSW
# and flat) on the same vectors, in one run (method: BENCHMARKS.md).
#
#   bench/ann.sh [--tracks-only] [--repeats N] [DATASET]
#
# 1. sets up the pinned Python environment (bench/ann/setup.sh, once);
# 2. builds the timbre side (bench/ann.rs) and exports the catalogues into
#    target/ann/ (never into the repository): the shared dataset's tracks,
#    and unless --tracks-only a synthetic catalogue of 1,000,000 tracks;
# 3. runs bench/ann/compare.py, which prints the tables and writes
#    target/ann/<catalogue>/{results.md,results.json,recall_qps.png}.
# Everything runs under nice -n 10, so that other work on the machine keeps
# its share of the two cores (and the figures say how noisy the run was).
set -euo pipefail
cd "$(dirname "$0")/.."
catalogues=tracks,synthetic
synthetic=1000000
dataset=../shared/data/spotify_songs.csv
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tracks-only) catalogues=tracks; synthetic=0 ;;
    --repeats) extra+=(--repeats "$2"); shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) dataset="$1" ;;
  esac
  shift
done
out=target/ann
python=$(bench/ann/setup.sh)
nice -n 10 cargo build --release --example ann
bin=target/release/examples/ann
nice -n 10 "$bin" export --dataset "$dataset" --out "$out" --synthetic "$synthetic"
nice -n 10 "$python" bench/ann/compare.py --out "$out" --timbre "$bin" --catalogues "$catalogues" "${extra[@]}"
