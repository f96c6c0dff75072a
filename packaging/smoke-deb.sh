#!/usr/bin/env bash
# Smoke-test the .deb in a fresh Debian 12 root (debootstrap, scripts/debian-root.sh).
#
#   packaging/smoke-deb.sh [options] [DIR]        as root; DIR default /var/tmp/eyenet-debian-root
#
# Builds the package (packaging/build-deb.sh; or --deb FILE), checks that it holds none of
# the LibreNMS recordings, then in DIR/smoke-deb, a fresh copy of the Debian 12 base:
#   1. apt-get installs it (its dependencies come from Debian), as `dpkg -i` would on a host
#      that has them; the user eyenet, /var/lib/eyenet and /etc/eyenet/eyenet.toml are checked;
#   2. `eyenet --version` and `eyenet check-config /etc/eyenet/eyenet.toml`;
#   3. systemd-analyze verify and security --offline=true on the installed unit (exposure <= 2.0);
#   4. `eyenet run -c` the installed configuration as eyenet.service would: user eyenet, in
#      /var/lib/eyenet, umask 077, with NOTIFY_SOCKET and memory-deny-write-execute; READY=1,
#      /api/health, then SIGTERM and exit 0;
#   5. `eyenet demo` for --demo-seconds (20): /api/health 200 and every lab device polled.
# Prints each phase's time and PASS/FAIL, and the start-up times; exits 0 only if all passed.
#
# Options: --deb FILE (test this package), --recreate, --variant NAME, --mirror URL,
# --demo-seconds N (as scripts/debian-root-check.sh's).
set -euo pipefail

TOOL=smoke-deb
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/debian-root.sh
. "$repo/scripts/debian-root.sh"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

DIR=/var/tmp/eyenet-debian-root
deb=""
while [ $# -gt 0 ]; do
    if droot_option "$@"; then shift "$droot_used"; continue; fi
    case "$1" in
        --deb) [ $# -ge 2 ] || die "--deb needs a file"; deb=$(realpath "$2"); shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) DIR=$1 ;;
    esac
    shift
done
droot_check_options
sha=$(git -C "$repo" rev-parse HEAD)

droot_open "$DIR" smoke-deb

if [ -z "$deb" ]; then
    start_phase build-deb
    if bash "$repo/packaging/build-deb.sh" "$LOGS" >"$LOGS/build-deb.log" 2>&1; then
        deb=$(ls "$LOGS"/eyenet_*.deb)
        end_phase build-deb PASS "$(basename "$deb")"
    else
        tail -n 30 "$LOGS/build-deb.log" >&2
        end_phase build-deb FAIL "see $LOGS/build-deb.log"
        summary || exit 1
    fi
fi
[ -f "$deb" ] || die "no package $deb"
start_phase "no recordings"
if python3 "$repo/packaging/leak_check.py" deb "$deb" >"$LOGS/leak-check.log" 2>&1; then
    end_phase "no recordings" PASS "$(cat "$LOGS/leak-check.log")"
else
    end_phase "no recordings" FAIL "$(tail -n 5 "$LOGS/leak-check.log" | tr '\n' ' ')"
fi

droot_base "$variant" "$mirror" "$recreate"
droot_prepare 0
end_phase "prepare root" ok "carried: $(wc -l <"$LOGS/carried.txt") setting(s)"

cp "$deb" "$ROOT/tmp/eyenet.deb"
droot_step install '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/eyenet.deb || exit 1
    getent passwd eyenet
    [ "$(stat -c "%U:%G %a" /var/lib/eyenet)" = "eyenet:eyenet 750" ] || { stat /var/lib/eyenet; exit 1; }
    [ "$(stat -c "%U:%G %a" /etc/eyenet/eyenet.toml)" = "root:eyenet 640" ] || { stat /etc/eyenet/eyenet.toml; exit 1; }
    dpkg-query -W -f="\${Package} \${Version} \${Installed-Size} KiB installed\n" eyenet'
droot_step version 'eyenet --version'
droot_step check-config 'eyenet check-config /etc/eyenet/eyenet.toml'
droot_step "unit checks" '
    systemd-analyze verify eyenet.service || exit 1
    systemd-analyze security --offline=true /lib/systemd/system/eyenet.service >/tmp/security.txt 2>&1
    exposure=$(sed -nE "s/.*Overall exposure level for eyenet.service: ([0-9.]+).*/\1/p" /tmp/security.txt)
    echo "exposure $exposure"
    awk -v e="$exposure" "BEGIN { exit !(e != \"\" && e <= 2.0) }"'
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
