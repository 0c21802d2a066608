#!/usr/bin/env bash
# GraphQL `similar(first: 10)` and `recommend(first: 10)` under HTTP load on
# loopback, each against a bare actix-web route answering a JSON body of the
# same size (the ceiling), in the same run. Load generator: wrk (Debian's
# package; installed if absent).
#
# The two cores are split: the server under test (1 worker) on core 0, wrk
# (1 thread) on core 1, via taskset. Each measurement runs 3 times for
# 10 s; the table gives medians (min..max).
#   saturation: 32 connections, no pause;
#   fixed rate: 8 connections, each pausing 8 ms between requests (wrk's
#   `delay`), an offered load well below either server's saturation.
#
# Usage: bench/server.sh [DATASET]   (default ../shared/data/spotify_songs.csv)
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:-${TIMBRE_DATASET:-../shared/data/spotify_songs.csv}}"
out=target/bench-server
mkdir -p "$out"
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet --bin timbre --example bare

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 1 300); do curl -fs -o /dev/null -X POST -H 'content-type: application/json' -d '{"query":"{__typename}"}' "$1" && return 0; sleep 0.2; done; echo "no server at $1" >&2; return 1; }

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

data="$out/data"
if [ ! -d "$data" ]; then
  target/release/timbre import --data-dir "$data" "$dataset" >/dev/null 2>&1
fi
cut -d, -f1 "$dataset" | tail -n +2 | sort -u | shuf -n 2000 --random-source=<(yes) >"$out/ids.txt"

timbre_port=$(port)
RUST_LOG=warn TIMBRE_WORKERS=1 TIMBRE_HTTP__RATE_LIMIT__PER_SECOND=0 \
  taskset -c 0 target/release/timbre serve --data-dir "$data" --listen "127.0.0.1:$timbre_port" \
  >"$out/timbre.log" 2>&1 &
pids+=($!)
wait_up "http://127.0.0.1:$timbre_port/graphql"

# Documents with variables, as GraphQL clients send them (Apollo, Relay and
# urql never splice values into the text): the server parses each document
# once (http.document_cache_size) whatever the seed.
declare -A queries=(
  [similar]='{"query":"query Similar($id: ID!) { similar(trackId: $id, first: 10) { score track { id name artists } } }","variables":{"id":"SEED"}}'
  [recommend]='{"query":"query Recommend($id: ID!) { recommend(input: {seeds: {trackIds: [$id]}, avoid: {genres: [\"rap\"]}, shift: {energy: 0.1}, first: 10}) { score because { kind } track { id name artists } } }","variables":{"id":"SEED"}}'
)
seed=$(head -1 "$out/ids.txt")
# The hypervisor's steal time over the run says how much of the noise came
# from outside this machine.
steal() { awk '/^cpu / {print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
steal_before=$(steal)

run() { # name url connections delay_ms repeat query
  IDS="$out/ids.txt" QUERY="$6" DELAY_MS="$4" taskset -c 1 \
    wrk -t1 -c"$3" -d10s --latency -s bench/server/similar.lua "$2" >"$out/$1.$5.txt"
}
for op in similar recommend; do
  query="${queries[$op]}"
  bytes=$(curl -s -X POST -H 'content-type: application/json' -d "${query/SEED/$seed}" \
    "http://127.0.0.1:$timbre_port/graphql" | wc -c)
  echo "$bytes" >"$out/$op.bytes"
  bare_port=$(port)
  taskset -c 0 target/release/examples/bare "127.0.0.1:$bare_port" "$bytes" 1 >"$out/bare-$op.log" 2>&1 &
  bare_pid=$!
  pids+=($bare_pid)
  wait_up "http://127.0.0.1:$bare_port/graphql"
  for r in 1 2 3; do
    for target in "timbre http://127.0.0.1:$timbre_port/graphql" "bare http://127.0.0.1:$bare_port/graphql"; do
      set -- $target
      run "$op-$1-saturation" "$2" 32 0 "$r" "$query"
      run "$op-$1-fixed" "$2" 8 8 "$r" "$query"
    done
  done
  kill "$bare_pid" 2>/dev/null || true
done
for op in similar recommend; do
  python3 bench/server/summary.py "$out" "$op" "$(cat "$out/$op.bytes")"
  echo
done
read -r s0 t0 <<<"$steal_before"
read -r s1 t1 <<<"$(steal)"
echo "host steal time during the run: $(( 100 * (s1 - s0) / (t1 - t0 + 1) ))% of CPU time"
