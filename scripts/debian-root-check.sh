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
# they would start in the host's network.
set -euo pipefail

die() { echo "debian-root-check: error: $*" >&2; exit 2; }
say() { echo "debian-root-check: $*" >&2; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

# -- options ------------------------------------------------------------------------------------

DIR=/var/tmp/eyenet-debian-root
recreate=0 keep_root=0 variant=minbase mirror="" demo_seconds=20 run_demo=1 run_tests=1
pytest_args=()
exec_cmd=""
dir_given=0
while [ $# -gt 0 ]; do
    case "$1" in
        --recreate) recreate=1 ;;
        --keep-root) keep_root=1 ;;
        --variant) [ $# -ge 2 ] || die "--variant needs a value"; variant=$2; shift ;;
        --mirror) [ $# -ge 2 ] || die "--mirror needs a value"; mirror=$2; shift ;;
        --demo-seconds) [ $# -ge 2 ] || die "--demo-seconds needs a value"; demo_seconds=$2; shift ;;
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
case "$variant" in minbase|default) ;; *) die "--variant: minbase or default, not $variant" ;; esac
[[ "$demo_seconds" =~ ^[0-9]+$ ]] && [ "$demo_seconds" -ge 5 ] || die "--demo-seconds: a whole number >= 5"
[ "$(id -u)" -eq 0 ] || die "run this as root (debootstrap, chroot and mounts need it)"

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
git -C "$repo" rev-parse --git-dir >/dev/null 2>&1 || die "$repo is not a git repository"
sha=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] \
    || say "note: $repo has uncommitted changes; they are not checked (HEAD $sha is)"

for tool in chroot mount umount flock git stat; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
if ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing (and no apt-get to install it)"
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
        || die "apt-get install debootstrap failed"
fi

# -- DIR: ours, locked ---------------------------------------------------------------------------

MARKER=.eyenet-debian-root
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
if [ -e "$DIR" ]; then
    DIR=$(cd "$DIR" && pwd -P)
    [ -f "$DIR/$MARKER" ] || [ -z "$(ls -A "$DIR")" ] \
        || die "$DIR exists and was not made by this script (no $MARKER in it); choose another DIR"
else
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
fi
case "$DIR" in /|/bin|/boot|/dev|/etc|/home|/lib*|/proc|/root|/run|/sbin|/sys|/tmp|/usr|/usr/*|/var|/var/tmp)
    die "refusing DIR=$DIR: give a directory of its own" ;;
esac
echo "made by eyenet scripts/debian-root-check.sh; safe to remove when nothing is mounted under it" >"$DIR/$MARKER"
exec 9>"$DIR/.lock"
flock -n 9 || die "another run is using $DIR"

BASE=$DIR/base
ROOT=$DIR/root
stamp=$(date +%Y%m%d-%H%M%S)
LOGS=$DIR/logs/$stamp
mkdir -p "$LOGS"
REPO_IN_ROOT=/root/eyenet

# -- mounts and cleanup --------------------------------------------------------------------------

mounted=()   # what we mounted, in order; cleanup unmounts it in reverse
demo_pid=""

mounts_under() {  # the mount points at or under $1 (mountinfo escapes blanks as \040)
    awk -v p="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == p || index(m, p "/") == 1) print m }' /proc/self/mountinfo
}

rm_tree() {  # remove a tree of ours: never while anything is mounted under it
    local t=$1
    [ -e "$t" ] || return 0
    [ -z "$(mounts_under "$t")" ] || die "not removing $t: still mounted under it: $(mounts_under "$t" | tr '\n' ' ')"
    rm -rf --one-file-system "$t"
}

root_pids() {  # pids of processes whose root directory is $ROOT
    local id p r
    [ -d "$ROOT" ] || return 0
    id=$(stat -L -c '%d:%i' "$ROOT")
    for p in /proc/[0-9]*; do
        r=$(stat -L -c '%d:%i' "$p/root" 2>/dev/null) || continue
        [ "$r" = "$id" ] && echo "${p#/proc/}"
    done
    return 0
}

end_root_processes() {
    local pids i
    pids=$(root_pids | tr '\n' ' ')
    [ -n "${pids// }" ] || return 0
    say "ending processes still running in the root: $pids"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 50); do
        pids=$(root_pids | tr '\n' ' ')
        [ -n "${pids// }" ] || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
}

remove_dead_labs() {
    # An LLDP lab that died uncleanly leaves a guard route, veths and namespaces behind; its
    # lock file under the root's /run says which. Let the lab code remove them while /run
    # is still there (only if there is anything to remove).
    compgen -G "$ROOT/run/eyenet-lldp-lab/*.lock" >/dev/null || return 0
    [ -x "$ROOT$REPO_IN_ROOT/.venv/bin/python" ] || return 0
    in_root 'cd "$1/tests" && ../.venv/bin/python -c "import lldp_lab; lldp_lab.remove_dead_labs(print)"' "$REPO_IN_ROOT" \
        || say "warning: removing dead LLDP labs failed"
}

cleanup() {
    local status=$? i m
    set +e
    trap - EXIT INT TERM HUP
    [ -z "$demo_pid" ] || kill -KILL -- "-$demo_pid" 2>/dev/null
    if [ ${#mounted[@]} -gt 0 ]; then
        end_root_processes
        remove_dead_labs
        end_root_processes
        for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
            m=${mounted[i]}
            umount -R "$m" 2>/dev/null || umount -R -l "$m" || say "warning: could not unmount $m"
        done
        mounted=()
    fi
    if [ -d "$ROOT" ] && [ -n "$(mounts_under "$ROOT")" ]; then
        say "warning: still mounted under $ROOT: $(mounts_under "$ROOT" | tr '\n' ' ')"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mount_in_root() {  # mount_in_root TARGET MOUNT-ARGS...: mount and remember it
    local target=$ROOT$1; shift
    mkdir -p "$target"
    mount "$@" "$target" || return 1  # (set -e does not act in an `if !` condition)
    mounted+=("$target")
}

mount_root() {
    # The root a mount point of its own, as / is on a machine: `ip netns exec` and `ip -n`
    # make / a slave mount in their mount namespace, which fails (EINVAL) on a plain directory.
    mount --bind "$ROOT" "$ROOT"
    mounted+=("$ROOT")
    mount --make-private "$ROOT"
    mount_in_root /proc -t proc proc
    if ! mount_in_root /sys -t sysfs sysfs 2>/dev/null; then  # no sysfs of our own (a container)
        mount_in_root /sys --rbind /sys
        mount --make-rslave "$ROOT/sys"
    fi
    mount_in_root /dev --bind /dev
    mount --make-slave "$ROOT/dev"
    mount_in_root /dev/pts --bind /dev/pts
    mount --make-slave "$ROOT/dev/pts"
    # Chromium needs a /dev/shm; a fresh one keeps its files away from the host's.
    mount_in_root /dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs
    # A fresh /run as on a booted machine: `ip netns add` makes /run/netns in it (a
    # mount of its own, with a mount per namespace under it), the LLDP lab its locks.
    mount_in_root /run -t tmpfs -o mode=755,nosuid,nodev tmpfs
    mkdir -m 1777 "$ROOT/run/lock"
}

# Clean environment inside the root: nothing of ours but the proxy variables, if any.
root_env=(HOME=/root LOGNAME=root USER=root LANG=C.UTF-8 TERM="${TERM:-dumb}"
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in http_proxy https_proxy ftp_proxy no_proxy all_proxy HTTP_PROXY HTTPS_PROXY FTP_PROXY NO_PROXY ALL_PROXY; do
    [ -z "${!v:-}" ] || root_env+=("$v=${!v}")
done

in_root() {  # in_root SCRIPT [ARGS...]: run a bash script in the root, as root, in / (ARGS are $1...)
    local script=$1; shift
    env -i "${root_env[@]}" chroot "$ROOT" /bin/bash -c "cd / && $script" in-root "$@"
}

# -- timing and results --------------------------------------------------------------------------

phases=() results=() times=() notes=()
t0=0
start_phase() { t0=$EPOCHREALTIME; say "== $1"; }
end_phase() {  # end_phase NAME RESULT [NOTE]
    local secs
    secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    phases+=("$1"); results+=("$2"); times+=("$secs"); notes+=("${3:-}")
    say "$1: $2 in ${secs}s${3:+ ($3)}"
}
marks() {  # marks FILE: pass stdin through; FILE gets the scripts' own lines, each with its time in the phase
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case "$line" in
            bootstrap:*|test.sh:*) awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$line" 'BEGIN { printf "  +%6.1fs  %s\n", b - a, l }' >>"$1" ;;
        esac
    done
}
skip_phase() { phases+=("$1"); results+=("skipped"); times+=("-"); notes+=("${2:-}"); }

summary() {
    local i overall=PASS
    for i in "${!results[@]}"; do [ "${results[i]}" != FAIL ] || overall=FAIL; done
    {
        echo
        echo "== debian-root-check: $(git -C "$repo" log -1 --format='%h %s' "$sha")"
        printf '%-16s %-8s %9s  %s\n' phase result seconds note
        for i in "${!phases[@]}"; do
            printf '%-16s %-8s %9s  %s\n' "${phases[i]}" "${results[i]}" "${times[i]}" "${notes[i]}"
        done
        echo "overall: $overall"
        for i in bootstrap test; do
            [ ! -s "$LOGS/$i.marks" ] || { echo "within $i phase:"; cat "$LOGS/$i.marks"; }
        done
        echo "root: $ROOT (base: $BASE); logs: $LOGS"
    } | tee "$LOGS/summary.txt"
    [ "$overall" = PASS ]
}

# -- the host's registry settings ----------------------------------------------------------------

host_codename=$( . /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-}")

apt_source_files() {  # the host's active apt source files (apt reads *.list and *.sources only)
    local f
    [ -s /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb' /etc/apt/sources.list && echo /etc/apt/sources.list
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && echo "$f"
    done
    return 0
}

host_bookworm_mirror() {  # the first URI the host's apt sources give for suite "bookworm"
    local f
    apt_source_files | while read -r f; do
        case "$f" in
            *.list) awk '$1 == "deb" { n = 2; if ($2 ~ /^\[/) { while ($n !~ /\]$/) n++; n++ }
                        if ($(n + 1) == "bookworm") { print $n; exit } }' "$f" ;;
            *.sources) awk 'BEGIN { RS = ""; FS = "\n" }
                        { uri = ""; suite = 0
                          for (i = 1; i <= NF; i++) {
                              if ($i ~ /^URIs:/) { split($i, w, /[ \t]+/); uri = w[2] }
                              if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) suite = 1 }
                          if (uri != "" && suite) { print uri; exit } }' "$f" ;;
        esac
    done | head -n1
}

apt_proxy_conf() {  # the host's apt settings for reaching its mirrors
    apt-config dump 2>/dev/null | grep -E '^Acquire::(https?|ftp)::Proxy|^Acquire::Check-(Valid-Until|Date) ' || true
}

host_local_cas() {
    [ -d /usr/local/share/ca-certificates ] || return 0
    find /usr/local/share/ca-certificates -type f -name '*.crt' | sort
}

carry_file() {  # carry_file PATH: a file a carried setting names (CA bundle, keyring), if the root lacks it
    local f=$1
    [ -f "$f" ] || return 0
    [ -e "$ROOT$f" ] && return 0
    mkdir -p "$(dirname "$ROOT$f")"
    cp -L "$f" "$ROOT$f"
    echo "  $f" >>"$LOGS/carried.txt"
}

carry_apt() {
    local f k
    if [ "$host_codename" = bookworm ] && [ -n "$(apt_source_files)" ]; then
        rm -f "$ROOT/etc/apt/sources.list"
        apt_source_files | while read -r f; do
            mkdir -p "$ROOT$(dirname "$f")"
            cp -L "$f" "$ROOT$f"
            echo "  $f" >>"$LOGS/carried.txt"
            for k in $(grep -ohE '(Signed-By:[[:space:]]*|signed-by=)/[^] ,]+' "$f" | sed -E 's/^(Signed-By:[[:space:]]*|signed-by=)//'); do
                carry_file "$k"
            done
        done
    else
        # Not a bookworm host: its sources are for another release; use the mirror.
        echo "deb $mirror bookworm main" >"$ROOT/etc/apt/sources.list"
    fi
    if [ -n "$(apt_proxy_conf)" ]; then
        { echo "// How the machine that made this root reaches its mirrors (scripts/debian-root-check.sh)"
          apt_proxy_conf; } >"$ROOT/etc/apt/apt.conf.d/80registry-access"
        echo "  apt: $(apt_proxy_conf | tr '\n' ' ')" >>"$LOGS/carried.txt"
    fi
}

carry_cas() {
    local f n=0
    for f in $(host_local_cas); do
        mkdir -p "$ROOT/usr/local/share/ca-certificates"
        cp -L "$f" "$ROOT/usr/local/share/ca-certificates/"
        echo "  $f" >>"$LOGS/carried.txt"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || return 0
    [ -x "$ROOT/usr/sbin/update-ca-certificates" ] \
        || die "the host trusts local CA certificates (a TLS-intercepting proxy?) but $BASE has no
  ca-certificates to add them to: run again with --recreate"
    in_root 'update-ca-certificates >/dev/null 2>&1' || die "update-ca-certificates in the root failed"
}

carry_pip() {
    # From `pip config list` (its files and PIP_* variables; the variables win): the keys that
    # say where the index is and how to reach it. Indexes and find-links that are local paths
    # (file://, /...) stay behind: they are this machine's, not a registry's.
    local py lines
    py=$(command -v python3 || true)
    [ -n "$py" ] && "$py" -m pip --version >/dev/null 2>&1 || { say "no pip on the host: no pip settings to carry"; return 0; }
    lines=$("$py" -m pip config list 2>/dev/null || true)
    PIP_LINES=$lines "$py" - "$ROOT" "$LOGS/carried.txt" <<'EOF'
import ast, os, re, shutil, sys
root, carried = sys.argv[1], sys.argv[2]
keep = {"index-url", "extra-index-url", "find-links", "trusted-host", "proxy", "cert", "timeout",
        "default-timeout", "retries"}
urls = {"index-url", "extra-index-url", "find-links"}
found = {}  # (section, key) -> value; :env: (the variables) after the files, so it wins
for env_pass in (False, True):
    for line in os.environ["PIP_LINES"].splitlines():
        m = re.match(r"^([^=]+?)\.([a-z0-9-]+)=(.*)$", line)
        if not m or (m.group(1) == ":env:") != env_pass or m.group(2) not in keep:
            continue
        section = "global" if m.group(1) == ":env:" else m.group(1)
        value = ast.literal_eval(m.group(3))
        key = "timeout" if m.group(2) == "default-timeout" else m.group(2)
        if key in urls:
            value = " ".join(u for u in value.split() if u.startswith(("http://", "https://")))
            if not value:
                continue
        found[(section, key)] = value
if not found:
    sys.exit(0)
for (section, key), value in found.items():
    if key == "cert" and os.path.isfile(value) and not os.path.exists(root + value):
        os.makedirs(os.path.dirname(root + value), exist_ok=True)
        shutil.copyfile(value, root + value)
out = ["# How the machine that made this root reaches the Python package index",
       "# (carried over by scripts/debian-root-check.sh)"]
for section in dict.fromkeys(s for s, _ in found):
    out.append(f"[{section}]")
    out += [f"{k} = {v}" for (s, k), v in found.items() if s == section]
with open(root + "/etc/pip.conf", "w") as f:
    f.write("\n".join(out) + "\n")
with open(carried, "a") as f:
    f.write("".join(f"  pip: {s}.{k} = {v}\n" for (s, k), v in found.items()))
EOF
}

carry_npm() {
    # From `npm config list --json` (its files and npm_config_* variables): registries,
    # proxies and the CA settings; no credentials.
    command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 \
        || { say "no npm on the host: no npm settings to carry"; return 0; }
    (cd / && npm config list --json 2>/dev/null) | node -e '
        const fs = require("fs"), path = require("path");
        const [root, carried] = process.argv.slice(1);
        let cfg = {};
        try { cfg = JSON.parse(fs.readFileSync(0, "utf8")); } catch (e) { process.exit(0); }
        const keys = ["registry", "proxy", "https-proxy", "noproxy", "cafile", "ca", "strict-ssl"];
        const out = [];
        for (const [k, v] of Object.entries(cfg)) {
            if (!(keys.includes(k) || /^@[^:]+:registry$/.test(k))) continue;
            if (v === null || v === "" || (Array.isArray(v) && v.every((x) => x === ""))) continue;
            if (Array.isArray(v)) v.filter((x) => x !== "").forEach((x) => out.push(`${k}[]=${x}`));
            else out.push(`${k}=${v}`);
            if (k === "cafile" && fs.existsSync(v) && !fs.existsSync(root + v)) {
                fs.mkdirSync(path.dirname(root + v), { recursive: true });
                fs.copyFileSync(v, root + v);
            }
        }
        if (!out.length) process.exit(0);
        fs.mkdirSync(root + "/root", { recursive: true });
        fs.writeFileSync(root + "/root/.npmrc",
            "; How the machine that made this root reaches the npm registry\n" +
            "; (carried over by scripts/debian-root-check.sh)\n" + out.join("\n") + "\n");
        fs.appendFileSync(carried, out.map((l) => `  npm: ${l}\n`).join(""));
    ' "$ROOT" "$LOGS/carried.txt"
}

# -- 1. the base: debootstrap --------------------------------------------------------------------

[ -n "$mirror" ] || mirror=$( [ "$host_codename" = bookworm ] && host_bookworm_mirror || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

if [ $recreate -eq 1 ]; then
    say "--recreate: removing $ROOT and $BASE"
    rm_tree "$ROOT"
    rm_tree "$BASE"
fi

if [ -f "$BASE/.debootstrap-complete" ]; then
    skip_phase debootstrap "reused $BASE ($(cat "$BASE/.debootstrap-complete"))"
else
    rm_tree "$BASE"
    includes=()
    # Local CAs can only be trusted in the root with ca-certificates' update-ca-certificates.
    [ -z "$(host_local_cas)" ] || includes=(--include=ca-certificates)
    proxy_env=()
    p=$(apt-config dump 2>/dev/null | sed -nE 's/^Acquire::http::Proxy "(.+)";$/\1/p' | head -n1)
    [ -z "$p" ] || [ "$p" = DIRECT ] || proxy_env=("http_proxy=$p")
    start_phase "debootstrap ($variant, $mirror)"
    if env "${proxy_env[@]}" debootstrap --variant="$variant" "${includes[@]}" bookworm "$BASE" "$mirror" \
        >"$LOGS/debootstrap.log" 2>&1; then
        echo "bookworm $variant ${includes[*]} from $mirror, $(date -u +%Y-%m-%dT%H:%MZ)" >"$BASE/.debootstrap-complete"
        end_phase debootstrap PASS "$variant ${includes[*]}"
    else
        tail -n 30 "$LOGS/debootstrap.log" >&2
        end_phase debootstrap FAIL "see $LOGS/debootstrap.log"
        summary || exit 1
    fi
fi

# -- 2. this run's root ---------------------------------------------------------------------------

start_phase "prepare root"
: >"$LOGS/carried.txt"
if [ $keep_root -eq 1 ] && [ -f "$ROOT/.eyenet-root" ]; then
    say "--keep-root: reusing $ROOT as the last run left it"
else
    rm_tree "$ROOT"
    cp -a --reflink=auto "$BASE" "$ROOT"
    rm -f "$ROOT/.debootstrap-complete"
    echo "a copy of $BASE for one run of scripts/debian-root-check.sh" >"$ROOT/.eyenet-root"
fi

# Name resolution and the registries' settings: the only things taken from the host.
cat /etc/resolv.conf >"$ROOT/etc/resolv.conf"
echo "  /etc/resolv.conf" >>"$LOGS/carried.txt"
if [ ! -s "$ROOT/etc/hosts" ]; then  # what Debian's installer writes
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
        "$(uname -n)" >"$ROOT/etc/hosts"
fi
# No init in a chroot: packages' services must not start (they would run in the host's network).
printf '#!/bin/sh\n# no services in this chroot (scripts/debian-root-check.sh)\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
carry_apt

mount_root
carry_cas
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

health() {  # the HTTP status of GET /api/health, or 000
    in_root 'exec "$1/.venv/bin/python" - "$2"' "$REPO_IN_ROOT" "$1" <<'EOF' 2>/dev/null || echo 000
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/health", timeout=3) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
}

polled_devices() {  # the devices the demo's log shows polled ("<device>: cpu ...%, memory ...")
    sed -nE 's/^[0-9-]+ [0-9:,]+ INFO eyenet: ([^ :]+): cpu [^,]+, memory .*/\1/p' "$LOGS/demo.log" | sort -u
}

if [ $run_demo -eq 1 ]; then
    start_phase "demo start"
    port=$(in_root 'exec python3 -c "import socket; s = socket.socket(); s.bind((\"\", 0)); print(s.getsockname()[1])"')
    launched=$EPOCHREALTIME
    # Job control: the demo gets a process group of its own (so SIGINT reaches it and its
    # snmpsim children, as Ctrl-C would) and SIGINT is not ignored in it.
    set -m
    env -i "${root_env[@]}" chroot "$ROOT" /bin/bash -c 'cd "$1" && exec .venv/bin/eyenet demo --port "$2"' \
        demo "$REPO_IN_ROOT" "$port" >"$LOGS/demo.log" 2>&1 &
    demo_pid=$!
    set +m
    code=000
    deadline=$(( ${EPOCHREALTIME%.*} + demo_seconds + 40 ))
    while [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] && kill -0 "$demo_pid" 2>/dev/null; do
        code=$(health "$port")
        [ "$code" != 200 ] || break
        sleep 0.5
    done
    start_secs=$(awk -v a="$launched" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    # Let it poll for the rest of the time, longer (up to 20 s) if not every device is polled yet.
    expected=$(sed -nE 's/.*INFO eyenet: polling ([0-9]+) device\(s\).*/\1/p' "$LOGS/demo.log" | head -n1)
    while kill -0 "$demo_pid" 2>/dev/null; do
        now=$(awk -v a="$launched" -v b="$EPOCHREALTIME" 'BEGIN { print int(b - a) }')
        if [ "$now" -ge "$demo_seconds" ]; then
            [ -n "$expected" ] || expected=$(sed -nE 's/.*INFO eyenet: polling ([0-9]+) device\(s\).*/\1/p' "$LOGS/demo.log" | head -n1)
            [ -z "$expected" ] || [ "$(polled_devices | wc -l)" -lt "$expected" ] || break
            [ "$now" -lt $((demo_seconds + 20)) ] || break
        fi
        sleep 1
    done
    final_code=$(health "$port")
    alive=0; kill -0 "$demo_pid" 2>/dev/null && alive=1
    polled=$(polled_devices | wc -l)
    ran=$(awk -v a="$launched" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
    # Stop it as Ctrl-C would; SIGTERM, then SIGKILL, if it lingers.
    stop_sig=INT
    kill -INT -- "-$demo_pid" 2>/dev/null || true
    for i in $(seq 150); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$demo_pid" 2>/dev/null; then
        stop_sig=TERM; kill -TERM -- "-$demo_pid" 2>/dev/null || true
        for i in $(seq 100); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if kill -0 "$demo_pid" 2>/dev/null; then stop_sig=KILL; kill -KILL -- "-$demo_pid" 2>/dev/null || true; fi
    set +e; wait "$demo_pid"; demo_status=$?; set -e
    demo_pid=""
    sleep 1
    left=$(root_pids | wc -l)
    note="health $code after ${start_secs}s (${final_code} at ${ran}s); polled ${polled}/${expected:-?} devices"
    note+="; stopped by SIG$stop_sig, exit $demo_status"
    grep -q '^Traceback\|Exception Group Traceback' "$LOGS/demo.log" && note+=", with a traceback"
    [ "$left" -eq 0 ] || note+="; $left process(es) left running"
    # The demo's own start: launch to the first 200 (the demo phase below adds the polling).
    phases+=("demo start"); results+=("$([ "$code" = 200 ] && echo PASS || echo FAIL)"); times+=("$start_secs")
    notes+=("launch to the first 200 from GET /api/health")
    if [ "$code" = 200 ] && [ "$final_code" = 200 ] && [ "$alive" -eq 1 ] && [ -n "$expected" ] && [ "$polled" -ge "$expected" ]; then
        end_phase demo PASS "$note"
    else
        tail -n 30 "$LOGS/demo.log" >&2
        end_phase demo FAIL "$note; see $LOGS/demo.log"
    fi
    end_root_processes
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
