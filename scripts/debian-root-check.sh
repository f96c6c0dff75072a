#!/usr/bin/env bash
# Check the README's two commands on a fresh Debian 12 (bookworm) made with debootstrap.
#
#   bash scripts/debian-root-check.sh [options] [DIR] [-- PYTEST_ARGS...]
#
# As root. In DIR (default /var/tmp/eyenet-debian-root) it keeps
#
#   DIR/base              Debian 12 as debootstrap made it: made once, then reused
#   DIR/root              this run's root: a fresh copy of DIR/base on every run
#   DIR/logs/<time>/      each phase's log and the summary
#
# and then, in DIR/root (bind-mounted onto itself, so that / is a mount point as on a
# machine) with /proc, /sys, /dev, /dev/pts, a fresh /dev/shm and a fresh /run mounted
# (all unmounted again on exit):
#
#   1. clones the repository's HEAD (the commit, not the working tree) to /root/eyenet;
#   2. carries over how this machine reaches the package registries, and nothing else:
#      its apt sources (and the keyrings they name) and apt proxy settings, its local CA
#      certificates (a TLS-intercepting proxy needs them), pip's index/proxy/cert
#      settings, npm's registry/proxy/CA settings, the proxy environment variables and
#      /etc/resolv.conf;
#   3. runs the README's first command, `bash scripts/bootstrap.sh && .venv/bin/eyenet demo`,
#      with the demo in the background on a free port for --demo-seconds (20): passes when
#      GET /api/health answers 200 and the log shows every device of the lab polled, then
#      stops it with SIGINT (Ctrl-C), SIGTERM if it lingers;
#   4. runs the README's second command, `bash scripts/test.sh`, with PYTEST_ARGS
#      (e.g. -- -x -m "not slow" for a quick pass).
#
# Prints the time of each phase and PASS/FAIL; exits 0 only when every phase passed.
#
# Options:
#   --recreate        run debootstrap again (removes DIR/base and DIR/root first)
#   --keep-root       reuse DIR/root as the last run left it: its Debian packages, .venv and
#                     tests/js/node_modules stay (the repository is still cloned afresh).
#                     Quicker for iterating, but no longer a fresh machine.
#   --variant NAME    debootstrap variant of a new base: minbase (default: what container
#                     images of Debian 12 hold) or default (adds the "important" packages)
#   --mirror URL      Debian mirror for debootstrap (default: the host's apt source for
#                     bookworm, else http://deb.debian.org/debian)
#   --demo-seconds N  how long the demo runs (default 20)
#   --no-demo         skip step 3's demo (bootstrap.sh still runs)
#   --no-tests        skip step 4
#   --exec CMD        instead of steps 3 and 4, run the shell command CMD in the prepared
#                     root (in /root/eyenet, mounts in place) and exit with its status: to look
#                     into a failure, e.g. --keep-root --exec 'bash -i'
#
# Safety: touches nothing outside DIR but its own mounts under DIR/root, and refuses a DIR
# it did not make. Processes left running in the root are ended on exit (by pid, only those
# whose root directory is DIR/root). The chroot shares the host's network namespace: the
# tests' snmpd/lldpd labs make network namespaces, veths and routes there as they would on
# the host, and remove them again; Debian services are kept from starting (policy-rc.d), as
# they would start in the host's network. The root's making is scripts/debian-root.sh's,
# shared with the packaging smoke tests (packaging/smoke-*.sh).
set -euo pipefail

TOOL=debian-root-check
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/debian-root.sh
. "$repo/scripts/debian-root.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# -- options ------------------------------------------------------------------------------------

DIR=/var/tmp/eyenet-debian-root
keep_root=0 run_demo=1 run_tests=1
pytest_args=()
exec_cmd=""
dir_given=0
while [ $# -gt 0 ]; do
    if droot_option "$@"; then shift "$droot_used"; continue; fi
    case "$1" in
        --keep-root) keep_root=1 ;;
        --no-demo) run_demo=0 ;;
        --no-tests) run_tests=0 ;;
        --exec) [ $# -ge 2 ] || die "--exec needs a command"; exec_cmd=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; pytest_args=("$@"); break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ $dir_given -eq 0 ] || die "one DIR only (pytest arguments go after --)"; DIR=$1; dir_given=1 ;;
    esac
    shift
done
droot_check_options

git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || die "$repo is not a git repository"
sha=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] \
    || say "note: $repo has uncommitted changes; they are not checked (HEAD $sha is)"
command -v git >/dev/null 2>&1 || die "git is missing"

droot_open "$DIR" root
REPO_IN_ROOT=/root/eyenet

remove_dead_labs() {
    # An LLDP lab that died uncleanly leaves a guard route, veths and namespaces behind; its
    # lock file under the root's /run says which. Let the lab code remove them while /run
    # is still there (only if there is anything to remove).
    compgen -G "$ROOT/run/eyenet-lldp-lab/*.lock" >/dev/null || return 0
    [ -x "$ROOT$REPO_IN_ROOT/.venv/bin/python" ] || return 0
    in_root 'cd "$1/tests" && ../.venv/bin/python -c "import lldp_lab; lldp_lab.remove_dead_labs(print)"' "$REPO_IN_ROOT" \
        || say "warning: removing dead LLDP labs failed"
}
droot_cleanup_hook() { remove_dead_labs; }

marks() {  # marks FILE: pass stdin through; FILE gets the scripts' own lines, each with its time in the phase
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case "$line" in
            bootstrap:*|test.sh:*) awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$line" 'BEGIN { printf "  +%6.1fs  %s\n", b - a, l }' >>"$1" ;;
        esac
    done
}

# -- 1. the base: debootstrap --------------------------------------------------------------------

droot_base "$variant" "$mirror" "$recreate"

# -- 2. this run's root ---------------------------------------------------------------------------

droot_prepare "$keep_root"
carry_pip
carry_npm

# The repository at HEAD, cloned afresh; with --keep-root the previous .venv and
# tests/js/node_modules move into the new clone.
dest=$ROOT$REPO_IN_ROOT
rm_tree "$dest.new"
git clone -q --no-hardlinks "$repo" "$dest.new"
if ! git -C "$dest.new" cat-file -e "$sha^{commit}" 2>/dev/null; then
    git -C "$dest.new" fetch -q "$repo" HEAD
fi
git -C "$dest.new" checkout -q --detach "$sha"
[ "$(git -C "$dest.new" rev-parse HEAD)" = "$sha" ] || die "the clone is not at $sha"
if [ $keep_root -eq 1 ] && [ -d "$dest" ]; then
    [ ! -d "$dest/.venv" ] || mv "$dest/.venv" "$dest.new/.venv"
    [ ! -d "$dest/tests/js/node_modules" ] || mv "$dest/tests/js/node_modules" "$dest.new/tests/js/node_modules"
fi
rm_tree "$dest"
mv "$dest.new" "$dest"
end_phase "prepare root" ok "$(git -C "$repo" rev-parse --short HEAD) at $REPO_IN_ROOT; carried: $(wc -l <"$LOGS/carried.txt") setting(s)"
sed 's/^/debian-root-check: carried /' "$LOGS/carried.txt" >&2

if [ -n "$exec_cmd" ]; then
    set +e
    env -i "${root_env[@]}" chroot "$ROOT" /bin/bash -c 'cd "$1" && eval "$2"' exec "$REPO_IN_ROOT" "$exec_cmd"
    exit $?
fi

# -- 3. the README's first command ----------------------------------------------------------------

start_phase "bootstrap.sh"
set +e
in_root 'cd "$1" && bash scripts/bootstrap.sh' "$REPO_IN_ROOT" 2>&1 | marks "$LOGS/bootstrap.marks" | tee "$LOGS/bootstrap.log"
status=${PIPESTATUS[0]}
set -e
echo "bootstrap: (exit $status)" | marks "$LOGS/bootstrap.marks" >/dev/null
if [ "$status" -eq 0 ]; then
    end_phase bootstrap.sh PASS
else
    end_phase bootstrap.sh FAIL "exit $status; see $LOGS/bootstrap.log"
    run_demo=0
fi
if [ $run_demo -eq 1 ]; then
    droot_demo "$demo_seconds" 'cd /root/eyenet && exec .venv/bin/eyenet demo --port "$1"'
else
    skip_phase demo "$([ $status -eq 0 ] && echo "--no-demo" || echo "bootstrap.sh failed")"
fi

# -- 4. the README's second command ---------------------------------------------------------------

if [ $run_tests -eq 1 ]; then
    start_phase "test.sh ${pytest_args[*]}"
    set +e
    in_root 'cd "$1" && shift && bash scripts/test.sh "$@"' "$REPO_IN_ROOT" "${pytest_args[@]}" 2>&1 | marks "$LOGS/test.marks" | tee "$LOGS/test.log"
    status=${PIPESTATUS[0]}
    set -e
    echo "test.sh: (exit $status)" | marks "$LOGS/test.marks" >/dev/null
    # pytest's last word: "3 failed, 200 passed in 61.2s", or "Interrupted: 1 error during collection".
    result=$(grep -E '(passed|failed|errors?|skipped|deselected|no tests ran).* in [0-9.]+s|Interrupted: ' "$LOGS/test.log" \
        | tail -n1 | sed -E 's/^[=!]+ //; s/ [=!]+$//' || true)
    [ "$status" -eq 0 ] && r=PASS || r=FAIL
    end_phase test.sh "$r" "exit $status${result:+; $result}${pytest_args[*]:+; pytest args: ${pytest_args[*]}}"
else
    skip_phase test.sh "--no-tests"
fi

summary
