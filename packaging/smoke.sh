#!/usr/bin/env bash
# Smoke-test a release artefact in a fresh Debian 12 root (debootstrap, scripts/debian-root.sh).
#
#   packaging/smoke.sh deb [options] [DIR]       the .deb
#   packaging/smoke.sh binary [options] [DIR]    the single executable, in a root without Python
#                                                (as root; DIR default /var/tmp/eyenet-debian-root)
#
# Builds the artefact (packaging/build-deb.sh or build-binary.sh; or --artefact FILE), checks
# that it holds none of the LibreNMS recordings (packaging/leak_check.py), then in
# DIR/smoke-KIND, a fresh copy of the Debian 12 base:
#   1. deb: apt-get installs it (its dependencies come from Debian), as `dpkg -i` would on a
#      host that has them; the user eyenet, /var/lib/eyenet and /etc/eyenet/eyenet.toml are
#      checked; binary: no python3 in the root, the executable as /usr/local/bin/eyenet, the
#      service's configuration (packaging/service-config.sh) and a user of its own;
#   2. `eyenet --version` and `eyenet check-config /etc/eyenet/eyenet.toml`;
#   3. deb: systemd-analyze verify and security --offline=true on the installed unit
#      (exposure <= 2.0);
#   4. `eyenet run -c` the installed configuration as eyenet.service would start it
#      (packaging/unit_sandbox.py): the unit's user, working directory, umask, limits,
#      memory-deny-write-execute and seccomp filters (SystemCallFilter=,
#      RestrictAddressFamilies=), with NOTIFY_SOCKET; READY=1, /api/health, then SIGTERM and
#      exit 0;
#   5. `eyenet demo` for --demo-seconds (20): /api/health 200 and every lab device polled (the
#      executable serves the lab itself, as snmpsim).
# Prints each phase's time and PASS/FAIL, and the start-up times; exits 0 only if all passed.
#
# Options: --artefact FILE (test this one), --recreate, --variant NAME, --mirror URL,
# --demo-seconds N (as scripts/debian-root-check.sh's).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
kind=${1:-}
case "$kind" in
    deb|binary) shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "smoke: error: the first argument is what to test: deb or binary (see --help)" >&2; exit 2 ;;
esac
TOOL=smoke-$kind
# shellcheck source=scripts/debian-root.sh
. "$repo/scripts/debian-root.sh"

DIR=/var/tmp/eyenet-debian-root
artefact=""
while [ $# -gt 0 ]; do
    if droot_option "$@"; then shift "$droot_used"; continue; fi
    case "$1" in
        --artefact) [ $# -ge 2 ] || die "--artefact needs a file"; artefact=$(realpath "$2"); shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) DIR=$1 ;;
    esac
    shift
done
droot_check_options
sha=$(git -C "$repo" rev-parse HEAD)

droot_open "$DIR" "$TOOL"

if [ "$kind" = deb ]; then
    pattern='eyenet_*.deb' checker=python3 format=deb
else
    # PyInstaller's own reader looks into the executable: the build venv has it.
    pattern='eyenet-*-linux-*' checker=$repo/build/binary-venv/bin/python format=pyinstaller
fi
if [ -z "$artefact" ]; then
    start_phase "build-$kind"
    if bash "$repo/packaging/build-$kind.sh" "$LOGS" >"$LOGS/build-$kind.log" 2>&1; then
        # shellcheck disable=SC2086  # the pattern is meant to glob
        artefact=$(ls "$LOGS"/$pattern)
        end_phase "build-$kind" PASS "$(basename "$artefact"), $(du -h "$artefact" | cut -f1)"
    else
        tail -n 30 "$LOGS/build-$kind.log" >&2
        end_phase "build-$kind" FAIL "see $LOGS/build-$kind.log"
        summary || exit 1
    fi
fi
[ -f "$artefact" ] || die "no artefact $artefact"
start_phase "no recordings"
if ! command -v "$checker" >/dev/null 2>&1; then
    end_phase "no recordings" FAIL "no $checker to look into the artefact with: run packaging/build-$kind.sh"
elif "$checker" "$repo/packaging/leak_check.py" "$format" "$artefact" >"$LOGS/leak-check.log" 2>&1; then
    end_phase "no recordings" PASS "$(cat "$LOGS/leak-check.log")"
else
    end_phase "no recordings" FAIL "$(tail -n 5 "$LOGS/leak-check.log" | tr '\n' ' ')"
fi

droot_base "$variant" "$mirror" "$recreate"
droot_prepare 0
end_phase "prepare root" ok "carried: $(wc -l <"$LOGS/carried.txt") setting(s)"

if [ "$kind" = deb ]; then
    cp "$artefact" "$ROOT/tmp/eyenet.deb"
    droot_step install '
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q && apt-get install -y -q --no-install-recommends /tmp/eyenet.deb || exit 1
        getent passwd eyenet
        [ "$(stat -c "%U:%G %a" /var/lib/eyenet)" = "eyenet:eyenet 750" ] || { stat /var/lib/eyenet; exit 1; }
        [ "$(stat -c "%U:%G %a" /etc/eyenet/eyenet.toml)" = "root:eyenet 640" ] || { stat /etc/eyenet/eyenet.toml; exit 1; }
        dpkg-query -W -f="\${Package} \${Version} \${Installed-Size} KiB installed\n" eyenet'
else
    install -m 755 "$artefact" "$ROOT/usr/local/bin/eyenet"
    install -d -m 755 "$ROOT/etc/eyenet"
    "$repo/packaging/service-config.sh" >"$ROOT/etc/eyenet/eyenet.toml"
    droot_step "no python" '! command -v python3 && ! ls /usr/bin/python* 2>/dev/null && echo "no python in the root"'
    droot_step user 'useradd --system --user-group --home-dir /var/lib/eyenet --shell /usr/sbin/nologin eyenet
        install -d -m 750 -o eyenet -g eyenet /var/lib/eyenet
        chgrp eyenet /etc/eyenet/eyenet.toml && chmod 640 /etc/eyenet/eyenet.toml && id eyenet'
fi
droot_step version 'eyenet --version'
droot_step check-config 'eyenet check-config /etc/eyenet/eyenet.toml'
if [ "$kind" = deb ]; then
    droot_step "unit checks" '
        systemd-analyze verify eyenet.service || exit 1
        systemd-analyze security --offline=true /lib/systemd/system/eyenet.service >/tmp/security.txt 2>&1
        exposure=$(sed -nE "s/.*Overall exposure level for eyenet.service: ([0-9.]+).*/\1/p" /tmp/security.txt)
        echo "exposure $exposure"
        awk -v e="$exposure" "BEGIN { exit !(e != \"\" && e <= 2.0) }"'
fi
# The service as systemd would start it from its unit (the installed one, for the .deb):
# packaging/unit_sandbox.py enters the root and takes on the unit's user, umask, working
# directory, limits, memory-deny-write-execute and seccomp filters (SystemCallFilter=,
# RestrictAddressFamilies=) before it execs the script; the configuration copy with this
# run's port is the service's own file, in /tmp. It runs on Debian's python3 (python3-seccomp
# is for that one, not for a pyenv's or a venv's) with systemd-analyze.
unit=$repo/packaging/eyenet.service
[ "$kind" != deb ] || unit=$ROOT/lib/systemd/system/eyenet.service
if host_package python3-seccomp /usr/bin/python3 -c 'import seccomp' && host_package systemd systemd-analyze --version; then
    droot_service "service start" '
        # Into the log: the user and filters it runs under (Seccomp 2: filter mode).
        grep -E "^(Uid|Gid|Groups|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status
        grep -q "^Seccomp:[[:space:]]*2$" /proc/self/status || { echo "no seccomp filter"; exit 1; }
        sed "s/^port = 5000$/port = $1/" /etc/eyenet/eyenet.toml >/tmp/eyenet-smoke.toml
        exec eyenet run -c /tmp/eyenet-smoke.toml' \
        /usr/bin/python3 "$repo/packaging/unit_sandbox.py" --root "$ROOT" "$unit" --
else
    start_phase "service start"
    end_phase "service start" FAIL "no python3-seccomp or systemd-analyze on this host to apply the unit's filters with"
fi
droot_demo "$demo_seconds" 'mkdir -p /var/tmp/eyenet-demo && cd /var/tmp/eyenet-demo && exec eyenet demo --port "$1"'
summary
