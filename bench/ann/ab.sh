#!/usr/bin/env bash
# Two builds of timbre's ANN worker side by side (bench/ann/ab.py): copy
# target/release/examples/ann aside before a change to the index, rebuild
# after it (cargo build --release --example ann), then
#
#   bench/ann/ab.sh /tmp/ann-before target/release/examples/ann [--settings ef:16,ef:24] [--rounds 6]
#
# Needs the exported tracks catalogue (bench/ann.sh --tracks-only writes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
python=$(bench/ann/setup.sh)
[[ -f target/ann/tracks/groundtruth.npz ]] || { echo "run bench/ann.sh --tracks-only first" >&2; exit 2; }
exec nice -n 10 "$python" bench/ann/ab.py "$@"
