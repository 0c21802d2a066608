#!/usr/bin/env bash
# Starts a MongoDB-wire server (SecantusDB, installed by scripts/services.sh)
# on a free loopback port and runs the MongoDB figures (bench/mongo.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/services.sh)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TIMBRE_SECANTUSD" --host 127.0.0.1 --port "$port" --storage-path :memory: --log-level WARNING >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cargo run --release --example mongo -- "mongodb://127.0.0.1:$port/" "$@"
