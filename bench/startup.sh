#!/usr/bin/env bash
# Start-up time and resident memory of `timbre serve` (embedded store), for
# the shared dataset and for a synthetic catalogue of N tracks (default
# 1,000,000; bench/startup/synth_tracks.py, fixed seed).
#
# For each catalogue:
#   import     `timbre import` into a fresh data directory (parse, store,
#              fit, build the graph, save the snapshot), once;
#   snapshot   `timbre serve` until /healthz answers, index from the
#              snapshot; REPEAT times (default 3);
#   rebuild    the same with the snapshot removed first (the server
#              rebuilds the graph and saves a new snapshot before it
#              listens); REPEAT times for the shared dataset, once for the
#              synthetic one (about 20 minutes on 2 cores);
#   memory     VmRSS and VmHWM of the server started from the snapshot,
#              after one query of each kind, against the raw size of the
#              catalogue (bench/startup/raw_size.py: metadata fields plus
#              13 float32 per track).
# The generated CSV and the imported data directory are kept in
# ~/.cache/timbre/bench-startup, so later runs skip generation and import.
#
# Usage: bench/startup.sh [--tracks N] [--repeat R] [--no-rebuild] [DATASET]
#   --no-rebuild skips the rebuild starts (the 1M one takes about 11 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
tracks=1000000
repeat=3
rebuild=1
dataset=../shared/data/spotify_songs.csv
while [ $# -gt 0 ]; do
  case "$1" in
    --tracks) tracks="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --no-rebuild) rebuild=0; shift ;;
    *) dataset="$1"; shift ;;
  esac
done
cache="${TIMBRE_CACHE:-$HOME/.cache/timbre}/bench-startup"
mkdir -p "$cache"
cargo build --release --quiet --bin timbre
bin=target/release/timbre
server_pid=
# A server left running would hold the data directory's lock for the next run.
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true' EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# serve DATA: starts the server and waits for /healthz; sets $took (seconds),
# $server_pid and $server_port. (Not run in $(...): the pid must reach us.)
serve() {
  server_port=$(port)
  local started
  started=$(now)
  RUST_LOG=warn "$bin" serve --data-dir "$1" --listen "127.0.0.1:$server_port" >"$cache/serve.log" 2>&1 &
  server_pid=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$server_port/healthz"; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$cache/serve.log" >&2; return 1; }
    sleep 0.05
  done
  took=$(python3 -c "print(f'{$(now) - $started:.2f}')")
}
stop() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=; }
summary() { python3 -c 'import statistics,sys; v=sorted(map(float,sys.argv[1:])); print(f"{statistics.median(v):.2f} s ({v[0]:.2f}..{v[-1]:.2f}), {len(v)} runs")' "$@"; }

measure() { # NAME CSV REBUILD_REPEAT
  local name=$1 csv=$2 rebuilds=$3 data="$cache/data-$1"
  echo "## $name"
  python3 bench/startup/raw_size.py "$csv" | tee "$cache/$name.raw"
  if [ ! -f "$data/.imported" ]; then
    rm -rf "$data"
    local started
    started=$(now)
    "$bin" import --data-dir "$data" "$csv" >/dev/null 2>"$cache/$name.import.log"
    python3 -c "print(f'import: {$(now) - $started:.1f} s')" | tee "$cache/$name.import"
    touch "$data/.imported"
  else
    echo "import (earlier run): $(cat "$cache/$name.import" 2>/dev/null || echo unknown)"
  fi
  local times=()
  for _ in $(seq 1 "$repeat"); do
    serve "$data"
    times+=("$took")
    stop
  done
  echo "start-up from the snapshot: $(summary "${times[@]}")"
  serve "$data"
  curl -fs -H 'content-type: application/json' "http://127.0.0.1:$server_port/graphql" \
    -d '{"query":"{ genres { name } g: similar(features: {energy: 0.5}, first: 10) { score } t: tracks(first: 10) { totalCount } }"}' >/dev/null
  local rss hwm
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  stop
  python3 - "$cache/$name.raw" "$rss" "$hwm" <<'PY'
import sys
f = open(sys.argv[1]).read().split()
n, meta, vec = int(f[1]), int(f[3]), int(f[5])
rss, hwm = int(sys.argv[2]) * 1024, int(sys.argv[3]) * 1024
raw = meta + vec
print(f"memory: VmRSS {rss/1e6:.0f} MB (peak {hwm/1e6:.0f} MB) for {n:,} tracks; raw {raw/1e6:.0f} MB "
      f"(metadata {meta/1e6:.0f} + vectors {vec/1e6:.0f}); RSS / raw {rss/raw:.2f}x (target < 2x); "
      f"{rss/n:,.0f} B per track")
PY
  times=()
  for _ in $(seq 1 "$rebuilds"); do
    rm -rf "$data/index"
    serve "$data"
    times+=("$took")
    stop
  done
  [ "$rebuilds" -gt 0 ] && echo "start-up with a rebuild: $(summary "${times[@]}")"
  echo
}

measure shared "$dataset" $((repeat * rebuild))
if [ "$tracks" -gt 0 ]; then
  synthetic="$cache/synthetic-$tracks.csv"
  [ -f "$synthetic" ] || python3 bench/startup/synth_tracks.py "$dataset" "$tracks" "$synthetic"
  measure "synthetic-$tracks" "$synthetic" "$rebuild"
fi
