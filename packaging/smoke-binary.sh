#!/usr/bin/env bash
# Smoke-test the single executable in a fresh Debian 12 root without Python (debootstrap's
# minbase, scripts/debian-root.sh).
#
#   packaging/smoke-binary.sh [options] [DIR]     as root; DIR default /var/tmp/eyenet-debian-root
#
# Builds it (packaging/build-binary.sh; or --binary FILE), checks that it holds none of the
# LibreNMS recordings (with the build venv's PyInstaller), then in DIR/smoke-binary, a fresh
# copy of the Debian 12 base, installed as /usr/local/bin/eyenet:
#   1. no python3 in the root;
#   2. `eyenet --version` and `eyenet check-config` of the service's configuration
#      (packaging/service-config.sh) as /etc/eyenet/eyenet.toml;
#   3. `eyenet run -c` it as a user of its own, with NOTIFY_SOCKET and memory-deny-write-execute
#      (as eyenet.service would): READY=1, /api/health, then SIGTERM and exit 0;
#   4. `eyenet demo` for --demo-seconds (20): /api/health 200 and every lab device polled
#      (the executable serves the lab itself, as snmpsim).
# Prints each phase's time and PASS/FAIL; exits 0 only if all passed.
#
# Options: --binary FILE, --recreate, --variant NAME, --mirror URL, --demo-seconds N.
set -euo pipefail

TOOL=smoke-binary
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/debian-root.sh
. "$repo/scripts/debian-root.sh"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

DIR=/var/tmp/eyenet-debian-root
binary=""
while [ $# -gt 0 ]; do
    if droot_option "$@"; then shift "$droot_used"; continue; fi
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a file"; binary=$(realpath "$2"); shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) DIR=$1 ;;
    esac
    shift
done
droot_check_options
sha=$(git -C "$repo" rev-parse HEAD)

droot_open "$DIR" smoke-binary

if [ -z "$binary" ]; then
    start_phase build-binary
    if bash "$repo/packaging/build-binary.sh" "$LOGS" >"$LOGS/build-binary.log" 2>&1; then
        binary=$(ls "$LOGS"/eyenet-*-linux-*)
        end_phase build-binary PASS "$(basename "$binary"), $(du -h "$binary" | cut -f1)"
    else
        tail -n 30 "$LOGS/build-binary.log" >&2
        end_phase build-binary FAIL "see $LOGS/build-binary.log"
        summary || exit 1
    fi
fi
[ -f "$binary" ] || die "no executable $binary"
start_phase "no recordings"
checker=$repo/build/binary-venv/bin/python
if [ ! -x "$checker" ]; then
    end_phase "no recordings" FAIL "no $checker (PyInstaller) to look into the executable with: run packaging/build-binary.sh"
elif "$checker" "$repo/packaging/leak_check.py" pyinstaller "$binary" >"$LOGS/leak-check.log" 2>&1; then
    end_phase "no recordings" PASS "$(cat "$LOGS/leak-check.log")"
else
    end_phase "no recordings" FAIL "$(tail -n 5 "$LOGS/leak-check.log" | tr '\n' ' ')"
fi

droot_base "$variant" "$mirror" "$recreate"
droot_prepare 0
end_phase "prepare root" ok "carried: $(wc -l <"$LOGS/carried.txt") setting(s)"

install -m 755 "$binary" "$ROOT/usr/local/bin/eyenet"
install -d -m 755 "$ROOT/etc/eyenet"
"$repo/packaging/service-config.sh" >"$ROOT/etc/eyenet/eyenet.toml"
droot_step "no python" '! command -v python3 && ! ls /usr/bin/python* 2>/dev/null && echo "no python in the root"'
droot_step version 'eyenet --version'
droot_step user 'useradd --system --user-group --home-dir /var/lib/eyenet --shell /usr/sbin/nologin eyenet
    install -d -m 750 -o eyenet -g eyenet /var/lib/eyenet
    chgrp eyenet /etc/eyenet/eyenet.toml && chmod 640 /etc/eyenet/eyenet.toml && id eyenet'
droot_step check-config 'eyenet check-config /etc/eyenet/eyenet.toml'
if command -v python3 >/dev/null 2>&1; then
    droot_service "service start" '
        sed "s/^port = 5000$/port = $1/" /etc/eyenet/eyenet.toml >/run/eyenet-smoke.toml
        chown root:eyenet /run/eyenet-smoke.toml && chmod 640 /run/eyenet-smoke.toml
        cd /var/lib/eyenet && umask 077
        exec setpriv --reuid=eyenet --regid=eyenet --init-groups --no-new-privs eyenet run -c /run/eyenet-smoke.toml' "${MDWE[@]}"
else
    skip_phase "service start" "no python3 on this host to listen for READY=1 and set memory-deny-write-execute"
fi
droot_demo "$demo_seconds" 'mkdir -p /var/tmp/eyenet-demo && cd /var/tmp/eyenet-demo && exec eyenet demo --port "$1"'
summary
