#!/usr/bin/env bash
# Print the configuration a packaged EyeNet starts with (/etc/eyenet/eyenet.toml): the
# example, config/eyenet.example.toml, with the database in the service's state directory
# (/var/lib/eyenet, StateDirectory= in eyenet.service): /etc is read-only to the service.
#
#   packaging/service-config.sh [STATE_DIR]      (default /var/lib/eyenet)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${1:-/var/lib/eyenet}
example=$repo/config/eyenet.example.toml
out=$(sed -E "/^\[store\]/,/^\[/ s|^path = \"eyenet.db\"|path = \"$state/eyenet.db\"|" "$example")
# The example changed its [store] path line: say so rather than ship a database in /etc.
grep -qx "path = \"$state/eyenet.db\"" <<<"$out" || { echo "service-config.sh: no 'path = \"eyenet.db\"' in [store] of $example" >&2; exit 1; }
printf '%s\n' "$out"
