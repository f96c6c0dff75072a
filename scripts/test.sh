#!/usr/bin/env bash
# Run EyeNet's test suite: system packages, ./.venv, tests/js, then pytest.
#
#   scripts/test.sh [pytest args...]      e.g. scripts/test.sh -k snmpsim -x
#
# As root, installs the Debian packages the tests drive (snmpd, snmp, iproute2,
# nodejs and npm for the stock socket.io-client, chromium for the browser test
# that playwright-core drives, lldpd for the LLDP lab of network namespaces in
# tests/lldp_lab.py, git for tests/test_packaging.py, which builds from the
# files git lists, systemd for tests/test_packaging_unit.py's systemd-analyze, python3-seccomp
# for its packaging/unit_sandbox.py) when they are missing, and tests/js's npm packages. The
# Debian snmpd *service* does not matter: our tests start their own snmpd
# processes on free loopback ports with their own configuration and state
# directories, whether or not the packaged service runs on port 161. Exits with pytest's status; "no tests collected" (5) is
# reported as the failure it is.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

say() { echo "test.sh: $*" >&2; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

packages=(snmpd snmp iproute2 nodejs npm chromium lldpd git systemd python3-seccomp)
# A file each package must provide (a pattern): a package can be "installed" with its
# files removed, or the files can come from elsewhere; both count as present.
declare -A provides=([snmpd]=/usr/sbin/snmpd [snmp]=/usr/bin/snmpbulkwalk [iproute2]=/usr/sbin/ip
    [nodejs]=/usr/bin/node [npm]=/usr/bin/npm [chromium]=/usr/bin/chromium [lldpd]=/usr/sbin/lldpd
    [git]=/usr/bin/git [systemd]=/usr/bin/systemd-analyze
    [python3-seccomp]='/usr/lib/python3/dist-packages/seccomp.cpython-*.so')

missing=()
for pkg in "${packages[@]}"; do
    compgen -G "${provides[$pkg]}" >/dev/null || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]}. Install them as root:
  apt-get install --no-install-recommends ${missing[*]}
or run this script as root."
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]}, and no apt-get to install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep maintainer scripts from starting services during the install
    # (containers have no init to start them, and we do not need them), unless
    # the host already has a policy of its own.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# temporary, from eyenet scripts/test.sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    # apt-get update only when needed: no package lists yet, or the install
    # fails with the lists we have (stale, or the package is unknown).
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null \
        || ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/eyenet-apt.log 2>&1; then
        apt-get update -q >/tmp/eyenet-apt.log 2>&1 || { cat /tmp/eyenet-apt.log >&2; die "apt-get update failed"; }
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/eyenet-apt.log 2>&1 \
            || { cat /tmp/eyenet-apt.log >&2; die "apt-get install ${missing[*]} failed"; }
    fi
    if [ -e "$policy" ] && grep -q 'from eyenet scripts/test.sh' "$policy"; then
        rm -f "$policy"
        trap - EXIT
    fi
    for pkg in "${packages[@]}"; do
        compgen -G "${provides[$pkg]}" >/dev/null || die "package $pkg installed, but ${provides[$pkg]} is still missing"
    done
fi

bash "$repo/scripts/bootstrap.sh" --test

# The npm socket.io-client that tests/test_socketio.py drives, at the versions
# tests/js/package-lock.json pins; again whenever the lock file is newer than the
# install (npm writes node_modules/.package-lock.json last).
js="$repo/tests/js"
if [ ! -e "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
    say "installing tests/js (npm ci)"
    npm ci --prefix "$js" --no-audit --no-fund >/tmp/eyenet-npm.log 2>&1 \
        || { cat /tmp/eyenet-npm.log >&2; die "npm ci --prefix tests/js failed"; }
fi

# esbuild and the browser packages of the dashboard, for tests/test_dashboard.py's check
# that the committed build is what dashboard/ makes.
dash="$repo/dashboard"
if [ ! -e "$dash/node_modules/.package-lock.json" ] || [ "$dash/package-lock.json" -nt "$dash/node_modules/.package-lock.json" ]; then
    say "installing dashboard (npm ci)"
    npm ci --prefix "$dash" --ignore-scripts --no-audit --no-fund >/tmp/eyenet-npm.log 2>&1 \
        || { cat /tmp/eyenet-npm.log >&2; die "npm ci --prefix dashboard failed"; }
fi

set +e
# Two workers, a file each at a time (module fixtures such as the lab runs are set up
# once), in the order tests/conftest.py gives (files with slow tests first; xdist would
# otherwise start with the files of most tests); the 25 slowest tests are listed at the
# end. Later arguments win: -n 0 runs serially.
"$repo/.venv/bin/python" -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=25 "$@"
status=$?
set -e

if [ "$status" -eq 5 ]; then
    say "FAILED: pytest collected no tests (exit status 5); check the arguments and tests/"
fi
exit "$status"
