#!/usr/bin/env bash
# Installs the real servers timbre's integration tests talk to, idempotently,
# caching them outside the clone (~/.cache/timbre, or $TIMBRE_TOOLS):
#   - SecantusDB 0.7.0b3 (PyPI), a MongoDB-wire server, in a Python venv.
# Prints `export` lines for the test run: eval "$(scripts/services.sh)".
# The tests start and stop their own server processes on free loopback ports
# (a test that stops MongoDB mid-run needs its own), using these binaries.
set -euo pipefail
tools="${TIMBRE_TOOLS:-$HOME/.cache/timbre}"
mkdir -p "$tools"

secantus_version="0.7.0b3"
venv="$tools/venv"
secantusd="$venv/bin/secantusd-py"
installed=$("$venv/bin/pip" show SecantusDB 2>/dev/null || true)
if [ ! -x "$secantusd" ] || ! grep -qx "Version: $secantus_version" <<<"$installed"; then
  echo "installing SecantusDB $secantus_version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$secantus_version" >&2
fi
echo "export TIMBRE_SECANTUSD=$secantusd"
