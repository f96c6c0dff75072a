#!/usr/bin/env bash
# Build the dashboard: dashboard/src and the npm packages pinned in
# dashboard/package-lock.json, bundled by esbuild into eyenet/web/dashboard/static/
# (committed, so that installing EyeNet needs no Node). Run it after changing
# dashboard/ and commit what it writes; tests/test_dashboard.py checks that the
# committed output is what this produces.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$repo/dashboard"
command -v npm >/dev/null 2>&1 || { echo "build-dashboard.sh: needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
# --ignore-scripts: esbuild's binary comes in its per-platform package, no install script needed.
if [ ! -e "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund >&2
fi
node "$dir/build.mjs"
