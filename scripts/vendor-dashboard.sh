#!/usr/bin/env bash
# Refreshes the dashboard's two vendored libraries from the npm registry at
# pinned versions, and records their SHA-256 in
# src/dashboard/assets/vendor/VERSIONS (checked by a unit test, so a file
# edited by hand or half-downloaded fails the build's tests).
#   - Chart.js (MIT): line, bar and radar charts on <canvas>;
#   - graphql-ws (MIT), its browser build: the graphql-transport-ws client
#     the live and jobs pages subscribe with.
# Run it after changing a version below; commit the files it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/dashboard/assets/vendor
libs=(
  "chart.js@4.5.1 package/dist/chart.umd.min.js chart.umd.min.js"
  "graphql-ws@6.0.6 package/umd/graphql-ws.min.js graphql-ws.min.js"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/VERSIONS"
for lib in "${libs[@]}"; do
  read -r spec inner name <<<"$lib"
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" "$inner"
  cp "$work/$inner" "$out/$name"
  rm -rf "$work"/*.tgz "$work/package"
  echo "$(sha256sum "$out/$name" | cut -d' ' -f1) $spec $name" >>"$work/VERSIONS"
done
cp "$work/VERSIONS" "$out/VERSIONS"
cat "$out/VERSIONS"
