#!/usr/bin/env bash
# Runs timbre's whole test suite: unit tests, the index crate's tests, the
# black-box API tests against a server on port 0, the recall test on the
# shared dataset and the schema check. CI runs exactly this (.ci/run).
#
# The shared dataset is read from ../shared/data/spotify_songs.csv (or
# $TIMBRE_DATASET). With CI=true, tests that need it fail when it is absent;
# elsewhere they say so and pass over it.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo test --workspace --all-targets --locked "$@"
