#!/usr/bin/env bash
# The soak: one `timbre serve` (release build) on the shared dataset, with a
# Kafka-wire broker (tansu, installed as for the tests), for an hour:
#   - 500 track messages/s through Kafka: upserts and deletes of 10,000
#     extra ids and replacements of dataset tracks (the catalogue's size
#     stays steady, so memory has no reason to grow);
#   - 200 queries/s over HTTP, open loop: `similar`, `recommend` and
#     `recommendForPlaylist` in turn;
# sampling resident memory and /metrics (graph catch-ups, compactions,
# tombstones, the pending tail, lag) every 5 s and latency per minute; at
# the end it waits for the stream to be applied and checks every id and
# name against what was produced (bench/soak.rs), then plots memory over
# time (bench/soak/plot.py; matplotlib in a venv under ~/.cache/timbre).
#
# Usage: bench/soak.sh [--minutes M] [--rate R] [--qps Q] [DATASET]
# Results: ~/.cache/timbre/bench/soak/{memory,latency}.csv, summary.json,
# and the plot bench/soak/memory.png.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=60 rate=500 qps=200 dataset=../shared/data/spotify_songs.csv
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift ;;
    --rate) rate=$2; shift ;;
    --qps) qps=$2; shift ;;
    *) dataset=$1 ;;
  esac
  shift
done
cache="${TIMBRE_CACHE:-$HOME/.cache/timbre}"
out="$cache/bench/soak"
mkdir -p "$out"
eval "$(scripts/services.sh)"
cargo build --release --locked --bin timbre --example soak

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # URL-or-port, what
  for _ in $(seq 1 1200); do
    if [[ $1 == http* ]]; then curl -fsS "$1" >/dev/null 2>&1 && return 0
    else (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; fi
    sleep 0.1
  done
  echo "$2 did not start" >&2
  return 1
}

kafka_port=$(free_port)
"$TIMBRE_TANSU" broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" --storage-engine memory://tansu/ \
  >"$work/kafka.log" 2>&1 &
pids+=($!)
wait_for "$kafka_port" "the broker"

# The load comes from one address: no per-client rate limit.
cat >"$work/timbre.toml" <<TOML
[http.rate_limit]
per_second = 0
TOML
port=$(free_port)
target/release/timbre --config "$work/timbre.toml" serve --data-dir "$work/data" \
  --listen "127.0.0.1:$port" --kafka-brokers "127.0.0.1:$kafka_port" --import "$dataset" \
  >"$work/server.log" 2>&1 &
server=$!
pids+=($server)
wait_for "http://127.0.0.1:$port/readyz" "timbre serve"

target/release/examples/soak --url "http://127.0.0.1:$port" --pid "$server" \
  --brokers "127.0.0.1:$kafka_port" --topic timbre.tracks --dataset "$dataset" \
  --out "$out" --minutes "$minutes" --rate "$rate" --qps "$qps"
grep -c ' ERROR ' "$work/server.log" | sed 's/^/server log ERROR lines: /' || true

venv="$cache/plot-venv"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'matplotlib==3.10.*'; }
"$venv/bin/python" bench/soak/plot.py "$out" bench/soak/memory.png
