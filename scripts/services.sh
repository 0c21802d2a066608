#!/usr/bin/env bash
# Installs the real servers timbre's integration tests talk to, idempotently,
# caching them outside the clone (~/.cache/timbre, or $TIMBRE_TOOLS):
#   - SecantusDB 0.7.0b3 (PyPI), a MongoDB-wire server, in a Python venv
#     (about 15 s);
#   - tansu 0.6.0 (crates.io), a Kafka-wire broker, built with its memory
#     and SQLite storage engines (about 16 minutes on 2 cores, once);
#   - moto (an S3-compatible server), boto3 and DuckDB (PyPI), for the lake
#     tests (about a minute);
#   - pyspark 4.3.0 (PyPI; about two minutes) and, when missing, Java 17
#     (Debian), for reading the lake with Spark and for the Spark Connect
#     server the jobs' tests run on;
#   - Chromium (Debian), when missing, for the dashboard's browser tests.
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

tansu_version="0.6.0"
tansu_root="$tools/tansu"
tansu="$tansu_root/bin/tansu"
if ! "$tansu" --version 2>/dev/null | grep -qx "tansu $tansu_version"; then
  echo "building tansu $tansu_version into $tansu_root (once; about 16 minutes on 2 cores)" >&2
  # The default features build a broker without storage engines: dynostore
  # gives memory://, libsql gives sqlite:// (data that survives a restart).
  cargo install tansu --version "$tansu_version" --locked --quiet \
    --no-default-features --features dynostore,libsql --root "$tansu_root" >&2
fi
echo "export TIMBRE_TANSU=$tansu"

# Python venvs from a requirements file, reinstalled when the file changes.
venv_from() { # NAME REQUIREMENTS
  local venv="$tools/$1" req="$2"
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
    echo "installing $(grep -v '^#' "$req" | tr '\n' ' ')into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
    cp "$req" "$venv/requirements.txt"
  fi
}
root="$(cd "$(dirname "$0")/.." && pwd)"
venv_from lake-venv "$root/scripts/requirements-lake.txt"
echo "export TIMBRE_LAKE_PYTHON=$tools/lake-venv/bin/python"
echo "export TIMBRE_MOTO=$tools/lake-venv/bin/moto_server"
venv_from spark-venv "$root/scripts/requirements-spark.txt"
echo "export TIMBRE_SPARK_PYTHON=$tools/spark-venv/bin/python"
# pyspark ships Spark itself, Spark Connect's server included
# (sbin/start-connect-server.sh), for the jobs' Spark tests.
echo "export TIMBRE_SPARK_HOME=$("$tools/spark-venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
# Spark needs Java 17 (or later).
if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then
  echo "installing Java 17 (Debian's openjdk-17-jre-headless) for Spark" >&2
  apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi

# Headless Chromium (Debian's) for the dashboard's browser tests, driven by
# playwright-core below; no browser is downloaded from anywhere else.
if ! command -v chromium >/dev/null; then
  echo "installing Chromium (Debian's chromium) for the dashboard's browser tests" >&2
  apt-get install -y -qq chromium >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
echo "export TIMBRE_CHROMIUM=$(command -v chromium)"

# Real clients for the protocol and dashboard tests: graphql-http's audit
# suite, the graphql-ws client and playwright-core, from npm, at the
# versions of tests/js's lock file.
node=$(command -v node || true)
if [ -n "$node" ] && command -v npm >/dev/null; then
  js="$root/tests/js"
  if [ ! -f "$js/node_modules/.package-lock.json" ] ||
    [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    echo "installing the JavaScript test clients into $js/node_modules" >&2
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  echo "export TIMBRE_NODE=$node"
else
  echo "Node.js and npm not found: the GraphQL protocol tests need them" >&2
fi
