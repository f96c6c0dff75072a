#!/usr/bin/env bash
# Build the single executable: dist/eyenet-<version>-linux-<arch>, for hosts without Python.
#
#   packaging/build-binary.sh [OUTDIR]        (default: dist/ in the repository)
#
# A PyInstaller one-file executable (the versions pinned in packaging/binary-requirements.txt)
# of EyeNet with its demo extra: the shipped device profiles (collectors/), the demo lab's
# variation module and snmpsim, which the executable runs itself when `eyenet demo` starts its
# lab (packaging/eyenet_binary.py). Built in a venv of its own, build/binary-venv (Debian 12's
# python3.11 with its shared libpython; PYTHON= another 3.11), from the files git lists under
# eyenet/ and collectors/; checked for the LibreNMS recordings at the end (leak_check.py).
# It runs on glibc 2.36 (Debian 12) and newer. At start it unpacks itself into $TMPDIR.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/packaging
# shellcheck source=packaging/common.sh
. "$here/common.sh"
build_start build-binary "${1:-}" git
name=eyenet-$version-linux-$(uname -m)

venv=$repo/build/binary-venv
work=$(mktemp -d "${TMPDIR:-/tmp}/eyenet-binary.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
wheel_source "$repo" "$work/src"

if [ ! -x "$venv/bin/python" ]; then
    say "build venv: $venv"
    "$python" -m venv "$venv"
fi
say "installing PyInstaller (pinned) and EyeNet $version with its demo extra into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/binary-requirements.txt" "${work}/src[demo]" \
    >"$work/pip.log" 2>&1 || { cat "$work/pip.log" >&2; die "pip install failed"; }

say "PyInstaller --onefile"
# snmpsim loads the lab's variation module from a file (eyenet.demo.lab copies it next to the
# lab's data), pysnmp its MIB modules by name and snmpsim the dbm its index is kept in: all
# out of PyInstaller's sight. EyeNet's own data (the profiles, the common-password list, every
# file the wheel's package-data lists) is read through importlib.resources: all of it is taken.
"$venv/bin/pyinstaller" --noconfirm --clean --onefile --strip --log-level WARN \
    --name "$name" --distpath "$out" --workpath "$work/build" --specpath "$work" \
    --collect-data eyenet \
    --add-data "$work/src/eyenet/demo/variation/eyenet_lab.py:eyenet/demo/variation" \
    --collect-submodules eyenet \
    --collect-all snmpsim --collect-submodules pysnmp --collect-data pysnmp \
    --hidden-import dbm --hidden-import dbm.gnu --hidden-import dbm.ndbm --hidden-import dbm.dumb \
    --exclude-module tkinter \
    "$here/eyenet_binary.py" >"$work/pyinstaller.log" 2>&1 \
    || { tail -n 40 "$work/pyinstaller.log" >&2; die "pyinstaller failed"; }
"$venv/bin/python" "$here/leak_check.py" pyinstaller "$out/$name"
say "built $out/$name ($(du -h "$out/$name" | cut -f1))"
