#!/usr/bin/env bash
# Create ./.venv in the repository root and install EyeNet into it.
#
#   scripts/bootstrap.sh          pip install '.[demo]'       (to run EyeNet and its demo lab)
#   scripts/bootstrap.sh --test   pip install -e '.[test]'    (to develop and test)
#
# Works on a fresh Debian 12 as root (installs python3 / python3-venv with apt
# when they are missing) and on a host that already has Python >= 3.11.
# Set PYTHON=/path/to/python3.X to choose the interpreter. Idempotent: with
# --test, a second run that finds pyproject.toml unchanged does nothing.
set -euo pipefail

usage() { echo "usage: $0 [--test]" >&2; exit 2; }

mode=run
case "${1:-}" in
    "") ;;
    --test) mode=test ;;
    -h|--help) echo "usage: $0 [--test]"; exit 0 ;;
    *) usage ;;
esac
[ $# -le 1 ] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
venv="$repo/.venv"

say() { echo "bootstrap: $*" >&2; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
    # apt-get update only when the package lists are missing or a first try fails.
    export DEBIAN_FRONTEND=noninteractive
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null \
        || ! apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; then
        apt-get update -q >/dev/null || die "apt-get update failed"
        apt-get install -y -q --no-install-recommends "$@" >/dev/null \
            || die "apt-get install $* failed"
    fi
}

python_ok() {  # $1 = candidate; true if it runs and is >= 3.11
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    if [ -n "${PYTHON:-}" ]; then
        python_ok "$PYTHON" || die "PYTHON=$PYTHON is not a working Python >= 3.11"
        echo "$PYTHON"; return 0
    fi
    for c in python3 python3.13 python3.12 python3.11; do
        if command -v "$c" >/dev/null 2>&1 && python_ok "$c"; then
            command -v "$c"; return 0
        fi
    done
    return 1
}

python=$(find_python || true)
if [ -z "$python" ] && is_root && command -v apt-get >/dev/null 2>&1; then
    say "no Python >= 3.11 found; installing Debian's python3 and python3-venv"
    apt_install python3 python3-venv
    python=$(find_python || true)
fi
[ -n "$python" ] || die "EyeNet needs Python >= 3.11 and none was found on PATH
  (tried python3, python3.13, python3.12, python3.11$( command -v python3 >/dev/null 2>&1 && echo "; python3 is $(python3 --version 2>&1)")).
  Install one (Debian 12: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.X."
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    # Debian splits venv's ensurepip off into python3.X-venv.
    if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if is_root && command -v apt-get >/dev/null 2>&1; then
            say "$python cannot create virtual environments; installing python3-venv"
            apt_install python3-venv
        fi
        "$python" -c 'import ensurepip, venv' >/dev/null 2>&1 \
            || die "$python -m venv is not available (no ensurepip). Install it as root
  (Debian: apt-get install python3-venv, or python$pyver-venv) and run this again."
    fi
    rm -rf "$venv"
    say "creating $venv with $python (Python $pyver)"
    "$python" -m venv "$venv" || die "$python -m venv $venv failed"
fi

vpy="$venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
stamp="$venv/.eyenet-bootstrap"
want="$mode $(sha256sum pyproject.toml | cut -d' ' -f1)"

if [ "$mode" = test ]; then
    # Editable: code changes need no reinstall; only a changed pyproject.toml does.
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
        && "$vpy" -c 'import eyenet, pytest, trio, snmpsim' >/dev/null 2>&1; then
        exit 0
    fi
    say "installing eyenet (editable) with the test extras into .venv"
    "$vpy" -m pip install -q -e '.[test]' || die "pip install -e '.[test]' failed"
else
    # A regular install copies the code, so always reinstall it (cheap).
    say "installing eyenet into .venv"
    "$vpy" -m pip install -q '.[demo]' || die "pip install '.[demo]' failed"
fi
echo "$want" >"$stamp"
say "ready: $vpy ($("$vpy" --version 2>&1))"
