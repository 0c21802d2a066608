#!/usr/bin/env bash
# Analytics jobs on both engines, side by side with today's in-memory
# genreTrends and in-process co-occurrence build, in one run:
#   1. the shared dataset with a synthetic log of 1M interactions
#      (100k listeners, 30 days);
#   2. unless --shared-only, a synthetic catalogue of --tracks tracks
#      (bench/startup/synth_tracks.py --split-playlists) with a log of
#      --interactions interactions (--listeners listeners, 30 days).
# Each catalogue is imported into a fresh data directory, exported to a
# fresh local lake (`timbre export`), given its log (bench/jobs_lake.rs,
# through the lake's own writer), and served with Spark Connect (local[2],
# started once; its start time and memory are reported) as the second
# engine. bench/jobs/driver.py then times each job --repeat times.
#
# Usage: bench/jobs.sh [--shared-only] [--tracks N] [--interactions M]
#                      [--listeners U] [--repeat R] [--neighbours K]
# Scratch data (several GB at 1M) goes to ~/.cache/timbre/bench/jobs.
set -euo pipefail
cd "$(dirname "$0")/.."

tracks=1000000 interactions=10000000 listeners=1000000 repeat=3 neighbours=100 shared_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --shared-only) shared_only=1 ;;
    --tracks) tracks=$2; shift ;;
    --interactions) interactions=$2; shift ;;
    --listeners) listeners=$2; shift ;;
    --repeat) repeat=$2; shift ;;
    --neighbours) neighbours=$2; shift ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
  shift
done

dataset="${TIMBRE_DATASET:-../shared/data/spotify_songs.csv}"
[ -f "$dataset" ] || { echo "the shared dataset is not at $dataset" >&2; exit 1; }
cache="$HOME/.cache/timbre/bench"
work="$cache/jobs"
mkdir -p "$cache"
rm -rf "$work" && mkdir -p "$work"

eval "$(scripts/services.sh)"
cargo build --release --locked --bin timbre --example jobs_lake
bin=target/release/timbre
gen=target/release/examples/jobs_lake

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Spark Connect, once, as scripts/test.sh starts it.
spark_port=$(free_port)
spark_started=$(date +%s.%N)
"$TIMBRE_SPARK_HOME/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
  --master 'local[2]' --driver-memory 8g \
  --conf spark.connect.grpc.binding.address=127.0.0.1 \
  --conf spark.connect.grpc.binding.port="$spark_port" \
  --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
  --conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 \
  >"$work/spark.log" 2>&1 &
spark_pid=$!
pids+=("$spark_pid")
until (echo >"/dev/tcp/127.0.0.1/$spark_port") 2>/dev/null; do
  kill -0 "$spark_pid" 2>/dev/null || { cat "$work/spark.log" >&2; exit 1; }
  sleep 0.1
done
spark_ready=$(date +%s.%N)
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
printf 'Spark Connect (local[2]) accepted connections after %.1f s, resident %d MB\n' \
  "$(echo "$spark_ready - $spark_started" | bc)" $(($(rss_kb "$spark_pid") / 1024))

key="bench-admin-key-0123456789"
# measure NAME CSV INTERACTIONS LISTENERS [INDEX SETTINGS]
measure() {
  local name=$1 csv=$2 events=$3 users=$4 index=${5:-}
  local dir="$work/$name"
  mkdir -p "$dir"
  cat >"$dir/timbre.toml" <<EOF
data_dir = "$dir/data"
[index]
$index
[lake]
location = "$dir/lake"
[jobs]
spark = "sc://127.0.0.1:$spark_port"
timeout_s = 7200
max_result_bytes = 67108864
[http.rate_limit]
per_second = 0
[[auth.keys]]
name = "bench"
key = "$key"
role = "admin"
EOF
  local started=$(date +%s)
  # Imported without the lake (no change rows), then exported whole.
  TIMBRE_LAKE__SINK=false "$bin" --config "$dir/timbre.toml" import "$csv" 2>"$dir/import.log" >/dev/null
  "$bin" --config "$dir/timbre.toml" export 2>>"$dir/import.log"
  "$gen" --csv "$csv" --lake "$dir/lake" --interactions "$events" --listeners "$users" 2>/dev/null
  echo "$name: catalogue, lake and log ready in $(($(date +%s) - started)) s; lake $(du -sh "$dir/lake" | cut -f1)"
  local port=$(free_port)
  "$bin" --config "$dir/timbre.toml" serve --listen "127.0.0.1:$port" >"$dir/serve.log" 2>&1 &
  local server=$!
  pids+=("$server")
  until curl -fs -o /dev/null "http://127.0.0.1:$port/healthz"; do
    kill -0 "$server" 2>/dev/null || { tail -20 "$dir/serve.log" >&2; exit 1; }
    sleep 0.5
  done
  python3 bench/jobs/driver.py "http://127.0.0.1:$port" "$key" --label "$name" \
    --repeat "$repeat" --neighbours "$neighbours"
  echo "$name: server resident $(($(rss_kb "$server") / 1024)) MB (peak $(($(hwm_kb "$server") / 1024)) MB);" \
    "Spark resident $(($(rss_kb "$spark_pid") / 1024)) MB (peak $(($(hwm_kb "$spark_pid") / 1024)) MB)"
  kill "$server"; wait "$server" 2>/dev/null || true
  rm -rf "$dir/data" "$dir/lake"
}

measure shared "$dataset" 1000000 100000
if [ "$shared_only" = 0 ]; then
  synthetic="$cache/synthetic-$tracks-split.csv"
  [ -f "$synthetic" ] ||
    python3 bench/startup/synth_tracks.py "$dataset" "$tracks" "$synthetic" --split-playlists >/dev/null
  # A cheaper graph: the index is not what this measures, and the default
  # ef_construction takes about ten minutes at 1M on two cores.
  measure "synthetic-$tracks" "$synthetic" "$interactions" "$listeners" \
    'ef_construction = 64'
fi
