#!/usr/bin/env bash
# Creates (once) the Python environment of the ANN comparison in
# ~/.cache/timbre/bench-venv, with pinned versions so that runs on different
# days measure the same library code. hnswlib has no wheels: pip builds it
# from source with g++ (its setup.py compiles with -march=native).
# Prints the venv's python path on stdout; everything else goes to stderr.
set -euo pipefail
venv="${TIMBRE_BENCH_VENV:-$HOME/.cache/timbre/bench-venv}"
pins=(numpy==2.3.5 hnswlib==0.8.0 voyager==2.2.3 faiss-cpu==1.13.2 matplotlib==3.10.8)
stamp="$venv/.pins"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]]; then
  echo "setting up $venv (${pins[*]})" >&2
  python3 -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$venv/bin/python"
