#!/usr/bin/env bash
# Starts a Kafka-wire broker (tansu, installed by scripts/services.sh) on a
# free loopback port and runs the streaming-ingest figures (bench/ingest.rs):
# catch-up tracks/s and freshness at a steady rate.
# Usage: bench/ingest.sh [--rate N] [--seconds S] [--dataset PATH] [--batch-max N]
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TIMBRE_TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cargo run --release --example ingest -- "127.0.0.1:$port" "$@"
