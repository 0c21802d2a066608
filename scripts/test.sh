#!/usr/bin/env bash
# Runs timbre's whole test suite: the habits CI checks first (`cargo fmt
# --check`, then clippy on every target with every feature, warnings as
# errors), then unit tests, the index crate's tests, the
# black-box API tests against a server on port 0, the recall test on the
# shared dataset, the schema check, and the store contract and MongoDB tests
# against a real MongoDB-wire server (SecantusDB), and the Kafka consumer
# tests against a real Kafka-wire broker (tansu), the lake tests against an
# S3-compatible server (moto) and the jobs' tests against Apache Spark
# (Spark Connect, local mode), all on loopback, which this script installs
# (cached in ~/.cache/timbre) and starts on free ports.
# Tests that stop a server mid-run start private ones from the same binaries.
# CI runs exactly this (.ci/run).
#
# The shared dataset is read from ../shared/data/spotify_songs.csv (or
# $TIMBRE_DATASET). With CI=true, tests that need it or a server fail when
# it is absent; elsewhere they say so and pass over it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

state=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT

# The servers are installed (downloads, and on a fresh machine the broker's
# build) while clippy checks the code: on a cold machine the downloads then
# cost no time and the two builds fill each other's idle cores.
scripts/services.sh >"$state/services.env" &
services=$!
pids+=("$services")

echo "checking the format (cargo fmt --check)" >&2
cargo fmt --all -- --check
echo "checking with clippy (warnings are errors)" >&2
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

if ! wait "$services"; then
  echo "installing the test servers failed (scripts/services.sh; its messages are above)" >&2
  exit 1
fi
pids=()
eval "$(cat "$state/services.env")"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for_port() { # PORT LOG [TENTHS OF A SECOND, default 100]
  for _ in $(seq 1 "${3:-100}"); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start; its log:" >&2
  cat "$2" >&2
  return 1
}

mongo_port=$(free_port)
"$TIMBRE_SECANTUSD" --host 127.0.0.1 --port "$mongo_port" --storage-path :memory: --log-level WARNING \
  >"$state/mongo.log" 2>&1 &
pids+=($!)
wait_for_port "$mongo_port" "$state/mongo.log"
# SecantusDB is a Python server: under the whole suite's load it can take
# longer than the driver's 3 s default to answer the monitor's heartbeat
# while it writes a large batch, and the driver then drops the connection.
export TIMBRE_TEST_MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?connectTimeoutMS=30000"

kafka_port=$(free_port)
"$TIMBRE_TANSU" broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" --storage-engine memory://tansu/ \
  >"$state/kafka.log" 2>&1 &
pids+=($!)
wait_for_port "$kafka_port" "$state/kafka.log"
export TIMBRE_TEST_KAFKA_BROKERS="127.0.0.1:$kafka_port"

# An S3-compatible server (moto) for the lake tests; keys are not checked.
s3_port=$(free_port)
"$TIMBRE_MOTO" -H 127.0.0.1 -p "$s3_port" >"$state/s3.log" 2>&1 &
pids+=($!)
wait_for_port "$s3_port" "$state/s3.log"
export TIMBRE_TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port"
# The S3 client's credentials come from the usual AWS variables; the test
# server accepts any.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

# Apache Spark's Spark Connect server in local mode, for the jobs' Spark
# tests: once per run (it takes 7-30 s to start on two cores, while the
# tests compile). spark-submit execs Java, so the PID is the server's own
# and the cleanup's TERM stops it (sbin/start-connect-server.sh would leave
# Java behind a shell).
spark_port=$(free_port)
"$TIMBRE_SPARK_HOME/bin/spark-submit" --class org.apache.spark.sql.connect.service.SparkConnectServer \
  --name "Spark Connect server" --master 'local[2]' --driver-memory 1g \
  --conf spark.connect.grpc.binding.address=127.0.0.1 \
  --conf spark.connect.grpc.binding.port="$spark_port" \
  --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 \
  --conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 \
  >"$state/spark.log" 2>&1 &
pids+=($!)
export TIMBRE_TEST_SPARK_CONNECT="sc://127.0.0.1:$spark_port"

cargo test --workspace --all-targets --locked --no-run
echo "waiting for Spark Connect on port $spark_port" >&2
wait_for_port "$spark_port" "$state/spark.log" 1800

cargo test --workspace --all-targets --locked "$@"
