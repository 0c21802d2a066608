#!/usr/bin/env bash
# Resident memory of `timbre serve` with the shared dataset loaded: imports
# the dataset into a fresh data directory, starts the server, waits for
# /readyz, reads VmRSS and VmHWM from /proc, then stops it with SIGTERM.
# Usage: bench/rss.sh [DATASET]   (needs a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:-../shared/data/spotify_songs.csv}"
bin=target/release/timbre
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
"$bin" import --data-dir "$data" "$dataset" 2>/dev/null
port=$((20000 + RANDOM % 20000))
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" 2>"$data/log" &
pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
# One query of each kind, so lazily built structures exist.
curl -fsS -H 'content-type: application/json' "http://127.0.0.1:$port/graphql" \
  -d '{"query":"{ genres { name } g: similar(features: {energy: 0.5}, first: 10) { score } }"}' >/dev/null
grep -E 'VmRSS|VmHWM' "/proc/$pid/status"
tracks=$(curl -fsS "http://127.0.0.1:$port/readyz" | sed -E 's/.*"tracks":([0-9]+).*/\1/')
echo "tracks loaded: $tracks"
kill -TERM "$pid"
wait "$pid"
