# shellcheck shell=bash
# A fresh Debian 12 (bookworm) root made with debootstrap, shared by scripts/debian-root-check.sh
# and packaging/smoke.sh. Sourced, not run: the caller sets TOOL (the
# name its messages start with), repo, and sha (the commit its summary names), then calls
#
#   droot_open DIR NAME          DIR ours and locked: BASE=DIR/base, ROOT=DIR/NAME, LOGS
#   droot_base VARIANT MIRROR RECREATE
#                                DIR/base: debootstrap once, then reused ("" MIRROR: the host's)
#   droot_prepare KEEP           ROOT a fresh copy of BASE (KEEP=1: as the last run left it),
#                                with the host's registry settings, mounted (unmounted on exit)
#   in_root SCRIPT [ARGS...]     a bash script in the root, as root, in /
#   droot_step PHASE SCRIPT ...  a phase that is one such script; its last line is the note
#   droot_service PHASE SCRIPT [ENTER...]
#                                an EyeNet server started as systemd would: READY=1, health, SIGTERM
#   host_package PACKAGE CHECK...
#                                apt-get install PACKAGE on the host unless the command CHECK passes
#   droot_demo SECONDS SCRIPT    `eyenet demo` in the background (SCRIPT: a bash script run in
#                                the root with the port as $1, that execs it), checked
#   start_phase / end_phase / skip_phase / summary
#
# Safety: touches nothing outside DIR but its own mounts under DIR/NAME, and refuses a DIR it
# did not make. Processes left running in the root are ended on exit (by pid, only those whose
# root directory is DIR/NAME). The chroot shares the host's network namespace; Debian services
# are kept from starting (policy-rc.d), as they would start in the host's network.

die() { echo "$TOOL: error: $*" >&2; exit 2; }
say() { echo "$TOOL: $*" >&2; }

# The options every caller takes (its --help tells them):
#   --recreate        run debootstrap again (removes DIR/base and this run's root first)
#   --variant NAME    debootstrap variant of a new base: minbase (default) or default
#   --mirror URL      Debian mirror for debootstrap (default: the host's, else deb.debian.org)
#   --demo-seconds N  how long the demo runs (default 20)
recreate=0 variant=minbase mirror="" demo_seconds=20
droot_option() {  # droot_option "$@": true if $1 is one of them (taken, with droot_used words)
    droot_used=1
    case "$1" in
        --recreate) recreate=1 ;;
        --variant|--mirror|--demo-seconds)
            [ $# -ge 2 ] || die "$1 needs a value"
            droot_used=2
            case "$1" in --variant) variant=$2 ;; --mirror) mirror=$2 ;; *) demo_seconds=$2 ;; esac ;;
        *) return 1 ;;
    esac
}
droot_check_options() {
    case "$variant" in minbase|default) ;; *) die "--variant: minbase or default, not $variant" ;; esac
    [[ "$demo_seconds" =~ ^[0-9]+$ ]] && [ "$demo_seconds" -ge 5 ] || die "--demo-seconds: a whole number >= 5"
}

host_package() {  # host_package PACKAGE CHECK...: true once CHECK passes, installing PACKAGE if needed
    local package=$1; shift
    "$@" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || { say "$package is missing (and no apt-get to install it)"; return 1; }
    say "installing $package"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be missing or stale: update only then.
    apt-get install -y -q --no-install-recommends "$package" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "$package" >/dev/null; } \
        || { say "apt-get install $package failed"; return 1; }
    "$@" >/dev/null 2>&1 || { say "$package installed, but \`$*\` still fails"; return 1; }
}

droot_tools() {
    local tool
    [ "$(id -u)" -eq 0 ] || die "run this as root (debootstrap, chroot and mounts need it)"
    for tool in chroot mount umount flock stat; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
    done
    host_package debootstrap command -v debootstrap || die "debootstrap is missing"
}

# -- DIR: ours, locked ---------------------------------------------------------------------------

droot_open() {  # droot_open DIR NAME
    DIR=$1
    local name=$2
    droot_tools
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
    echo "made by eyenet's Debian root scripts (scripts/debian-root.sh); safe to remove when nothing is mounted under it" >"$DIR/$MARKER"
    # One run per root; the base is shared, locked while it is made or copied (fd 8).
    exec 9>"$DIR/.lock.$name"
    flock -n 9 || die "another run is using $DIR/$name"
    exec 8>"$DIR/.lock.base"

    BASE=$DIR/base
    ROOT=$DIR/$name
    LOGS=$DIR/logs/$(date +%Y%m%d-%H%M%S)
    [ "$name" = root ] || LOGS+=-$name
    mkdir -p "$LOGS"
}

# -- mounts and cleanup --------------------------------------------------------------------------

mounted=()   # what we mounted, in order; cleanup unmounts it in reverse
demo_pid="" notify_pid=""

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

cleanup() {
    local status=$? i m
    set +e
    trap - EXIT INT TERM HUP
    [ -z "$demo_pid" ] || kill -KILL -- "-$demo_pid" 2>/dev/null
    [ -z "$notify_pid" ] || kill "$notify_pid" 2>/dev/null
    if [ ${#mounted[@]} -gt 0 ]; then
        end_root_processes
        # The caller's own clean-up in the root, while it is still mounted.
        if declare -F droot_cleanup_hook >/dev/null; then droot_cleanup_hook; end_root_processes; fi
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
skip_phase() { phases+=("$1"); results+=("skipped"); times+=("-"); notes+=("${2:-}"); }

summary() {
    local i overall=PASS
    for i in "${!results[@]}"; do [ "${results[i]}" != FAIL ] || overall=FAIL; done
    {
        echo
        echo "== $TOOL: $(git -C "$repo" log -1 --format='%h %s' "$sha")"
        printf '%-16s %-8s %9s  %s\n' phase result seconds note
        for i in "${!phases[@]}"; do
            printf '%-16s %-8s %9s  %s\n' "${phases[i]}" "${results[i]}" "${times[i]}" "${notes[i]}"
        done
        echo "overall: $overall"
        for i in "$LOGS"/*.marks; do
            [ ! -s "$i" ] || { echo "within $(basename "$i" .marks) phase:"; cat "$i"; }
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
        { echo "// How the machine that made this root reaches its mirrors (scripts/debian-root.sh)"
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
       "# (carried over by scripts/debian-root.sh)"]
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
            "; (carried over by scripts/debian-root.sh)\n" + out.join("\n") + "\n");
        fs.appendFileSync(carried, out.map((l) => `  npm: ${l}\n`).join(""));
    ' "$ROOT" "$LOGS/carried.txt"
}

# -- the base: debootstrap --------------------------------------------------------------------

droot_base() {  # droot_base VARIANT MIRROR RECREATE
    local variant=$1 recreate=$3 p
    local includes=() proxy_env=()
    mirror=$2  # carry_apt's too
    flock 8  # released once droot_prepare has its copy
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
        # Local CAs can only be trusted in the root with ca-certificates' update-ca-certificates.
        [ -z "$(host_local_cas)" ] || includes=(--include=ca-certificates)
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
}

# -- this run's root ---------------------------------------------------------------------------

droot_prepare() {  # droot_prepare KEEP
    local keep_root=$1
    start_phase "prepare root"
    : >"$LOGS/carried.txt"
    if [ $keep_root -eq 1 ] && [ -f "$ROOT/.eyenet-root" ]; then
        say "--keep-root: reusing $ROOT as the last run left it"
    else
        rm_tree "$ROOT"
        cp -a --reflink=auto "$BASE" "$ROOT"
        rm -f "$ROOT/.debootstrap-complete"
        echo "a copy of $BASE for one run of $TOOL" >"$ROOT/.eyenet-root"
    fi
    flock -u 8

    # Name resolution and the registries' settings: the only things taken from the host.
    cat /etc/resolv.conf >"$ROOT/etc/resolv.conf"
    echo "  /etc/resolv.conf" >>"$LOGS/carried.txt"
    if [ ! -s "$ROOT/etc/hosts" ]; then  # what Debian's installer writes
        printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
            "$(uname -n)" >"$ROOT/etc/hosts"
    fi
    # No init in a chroot: packages' services must not start (they would run in the host's network).
    printf '#!/bin/sh\n# no services in this chroot (scripts/debian-root.sh)\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    carry_apt

    mount_root
    carry_cas
}

droot_step() {  # droot_step PHASE SCRIPT [ARGS...]: a phase that is one script in the root
    local phase=$1; shift
    start_phase "$phase"
    if in_root "$@" >"$LOGS/${phase// /-}.log" 2>&1; then
        end_phase "$phase" PASS "$(tail -n 1 "$LOGS/${phase// /-}.log")"
    else
        tail -n 20 "$LOGS/${phase// /-}.log" >&2
        end_phase "$phase" FAIL "see $LOGS/${phase// /-}.log"
    fi
}

# -- `eyenet demo` in the root ----------------------------------------------------------------------

free_port() {  # a TCP port nothing listens on, here or in the root (they share the network)
    local used port i
    used=" $(tail -q -n +2 /proc/net/tcp /proc/net/tcp6 2>/dev/null | while read -r _ local _; do echo $((16#${local##*:})); done | tr '\n' ' ') "
    for i in $(seq 100); do
        port=$((20000 + RANDOM % 30000))
        [[ "$used" == *" $port "* ]] || { echo "$port"; return 0; }
    done
    die "no free TCP port found"
}

health() {  # health PORT: the HTTP status of GET /api/health on 127.0.0.1:PORT, or 000
    local line=""
    if { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null; then
        printf 'GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
        IFS= read -r -t 3 line <&3 || line=""
        exec 3<&-
    fi
    [[ "$line" =~ ^HTTP/1\.[01]\ ([0-9]{3}) ]] && echo "${BASH_REMATCH[1]}" || echo 000
}

polled_devices() {  # the devices the demo's log shows polled ("<device>: cpu ...%, memory ...")
    sed -nE 's/^[0-9-]+ [0-9:,]+ INFO eyenet: ([^ :]+): cpu [^,]+, memory .*/\1/p' "$LOGS/demo.log" | sort -u
}

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

notify_listener() {  # notify_listener SOCKET LOG: time-stamp each sd_notify datagram (host python3)
    python3 - "$1" "$2" <<'EOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)  # as systemd's: the service may run as another user
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        data = s.recv(4096)
        log.write(f"{time.time():.3f} {data.decode(errors='replace')!r}\n")
EOF
    notify_pid=$!
}

launch_in_root() {  # launch_in_root LOG SCRIPT PORT [ENTER...]: SCRIPT (port as $1) in the background
    # With a NOTIFY_SOCKET that the host listens on (when it has a python3), as systemd would
    # give; ENTER, a host command that enters $ROOT and execs the rest there (default: chroot
    # "$ROOT"; packaging/unit_sandbox.py also takes on a unit's user and restrictions). Sets
    # demo_pid, launched (its start) and notify_log.
    local log=$1 script=$2 port=$3 i
    shift 3
    local env=("${root_env[@]}") enter=(chroot "$ROOT")
    [ $# -eq 0 ] || enter=("$@")
    notify_pid="" notify_log=$log.notify
    if command -v python3 >/dev/null 2>&1; then
        rm -f "$ROOT/run/eyenet-notify.sock"
        notify_listener "$ROOT/run/eyenet-notify.sock" "$notify_log"
        for i in $(seq 50); do [ ! -S "$ROOT/run/eyenet-notify.sock" ] || break; sleep 0.1; done
        env+=(NOTIFY_SOCKET=/run/eyenet-notify.sock)
    fi
    launched=$EPOCHREALTIME
    # Job control: a process group of its own (so SIGINT reaches it and its children, as
    # Ctrl-C would) and SIGINT is not ignored in it.
    set -m
    env -i "${env[@]}" "${enter[@]}" /bin/bash -c "$script" eyenet "$port" >"$log" 2>&1 &
    demo_pid=$!
    set +m
}

stop_launched() {  # stop_launched SIGNAL: the launched process with SIGNAL, SIGTERM and SIGKILL if it lingers
    local i
    stop_sig=$1
    kill "-$stop_sig" -- "-$demo_pid" 2>/dev/null || true
    for i in $(seq 150); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$demo_pid" 2>/dev/null && [ "$stop_sig" != TERM ]; then
        stop_sig=TERM; kill -TERM -- "-$demo_pid" 2>/dev/null || true
        for i in $(seq 100); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if kill -0 "$demo_pid" 2>/dev/null; then stop_sig=KILL; kill -KILL -- "-$demo_pid" 2>/dev/null || true; fi
    set +e; wait "$demo_pid"; stop_status=$?; set -e
    demo_pid=""
    if [ -n "$notify_pid" ]; then
        kill "$notify_pid" 2>/dev/null; wait "$notify_pid" 2>/dev/null || true
        notify_pid=""
    fi
}

ready_after() {  # seconds from the launch to READY=1, or nothing
    awk -v a="$launched" '/READY=1/ { printf "%.1f", $1 - a; exit }' "$notify_log" 2>/dev/null || true
}

droot_demo() {  # droot_demo SECONDS SCRIPT: the demo phases; SCRIPT (in the root, port as $1) execs `eyenet demo`
    local demo_seconds=$1 script=$2 port code final_code expected now alive polled ran left note ready
    start_phase "demo start"
    port=$(free_port)
    launch_in_root "$LOGS/demo.log" "$script" "$port"
    code=000
    deadline=$(( ${EPOCHREALTIME%.*} + demo_seconds + 40 ))
    while [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] && kill -0 "$demo_pid" 2>/dev/null; do
        code=$(health "$port")
        [ "$code" != 200 ] || break
        sleep 0.5
    done
    demo_start_secs=$(since "$launched")
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
    # Stop it as Ctrl-C would.
    stop_launched INT
    ready=$(ready_after)
    sleep 1
    left=$(root_pids | wc -l)
    note="health $code after ${demo_start_secs}s (${final_code} at ${ran}s); polled ${polled}/${expected:-?} devices"
    note+="; stopped by SIG$stop_sig, exit $stop_status"
    grep -q '^Traceback\|Exception Group Traceback' "$LOGS/demo.log" && note+=", with a traceback"
    [ "$left" -eq 0 ] || note+="; $left process(es) left running"
    # The demo's own start: launch to the first 200 (the demo phase below adds the polling).
    phases+=("demo start"); results+=("$([ "$code" = 200 ] && echo PASS || echo FAIL)"); times+=("$demo_start_secs")
    notes+=("launch to the first 200 from GET /api/health${ready:+; READY=1 after ${ready}s}")
    if [ "$code" = 200 ] && [ "$final_code" = 200 ] && [ "$alive" -eq 1 ] && [ -n "$expected" ] && [ "$polled" -ge "$expected" ]; then
        end_phase demo PASS "$note"
    else
        tail -n 30 "$LOGS/demo.log" >&2
        end_phase demo FAIL "$note; see $LOGS/demo.log"
    fi
    end_root_processes
}

droot_service() {  # droot_service PHASE SCRIPT [ENTER...]: an EyeNet server as systemd starts one
    # SCRIPT (in the root, port as $1; ENTER as launch_in_root's) execs it; passes when it says READY=1 and /api/health
    # answers (any status: the configured devices may be unreachable here), and it exits 0 on
    # SIGTERM, as `systemctl stop` sends.
    local phase=$1 script=$2 port code=000 ready="" log
    shift 2
    log=$LOGS/${phase// /-}.log
    start_phase "$phase"
    port=$(free_port)
    launch_in_root "$log" "$script" "$port" "$@"
    deadline=$(( ${EPOCHREALTIME%.*} + 60 ))
    while [ "${EPOCHREALTIME%.*}" -lt "$deadline" ] && kill -0 "$demo_pid" 2>/dev/null; do
        [ -n "$ready" ] || ready=$(ready_after)
        [ "$code" != 000 ] || code=$(health "$port")
        [ -z "$ready" ] || [ "$code" = 000 ] || break
        sleep 0.2
    done
    stop_launched TERM
    note="READY=1 after ${ready:-(never)}s, /api/health $code; SIGTERM: exit $stop_status"
    if [ -n "$ready" ] && [ "$code" != 000 ] && [ "$stop_sig" = TERM ] && [ "$stop_status" -eq 0 ]; then
        end_phase "$phase" PASS "$note"
    else
        tail -n 30 "$log" >&2
        end_phase "$phase" FAIL "$note; see $log"
    fi
    end_root_processes
}
