# shellcheck shell=bash
# Shared by build-deb.sh and build-binary.sh (sourced).

# wheel_source REPO DIR: the files git lists that EyeNet's wheel is built from, copied to DIR:
# pyproject.toml, README.md, MANIFEST.in, eyenet/ and collectors/. tests/, with its GPL
# recordings, is not even copied.
wheel_source() {
    (cd "$1" && git ls-files -z --cached --others --exclude-standard -- pyproject.toml README.md MANIFEST.in eyenet collectors \
        | xargs -0 cp --parents -t "$2")
    # eyenet/collectors is a symlink to ../collectors in a checkout: pyproject.toml maps the package.
    rm -f "$2/eyenet/collectors"
}

# python311 PYTHON TOOL: fail unless PYTHON is a Python 3.11 with venv (Debian 12's).
python311() {
    [ -x "$1" ] || { echo "$2: error: $1 is missing (Debian 12: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
    "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "$2: error: $1 is not Python 3.11" >&2; exit 1; }
    "$1" -c 'import ensurepip' 2>/dev/null || { echo "$2: error: $1 has no ensurepip (Debian 12: apt-get install python3.11-venv)" >&2; exit 1; }
}

# build_start TOOL OUTDIR NEEDED...: what both builds start with. say and die naming TOOL;
# out (OUTDIR, default dist/ in the repository); python (PYTHON, default Debian 12's 3.11,
# checked); the commands NEEDED present; version from eyenet/__init__.py. Needs repo set.
build_start() {
    build_tool=$1
    out=${2:-$repo/dist}
    shift 2
    say() { echo "$build_tool: $*" >&2; }
    die() { echo "$build_tool: error: $*" >&2; exit 1; }
    python=${PYTHON:-/usr/bin/python3.11}
    python311 "$python" "$build_tool"
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || die "$tool is missing"; done
    version=$(sed -nE 's/^__version__ = "([^"]+)"$/\1/p' "$repo/eyenet/__init__.py")
    [ -n "$version" ] || die "no __version__ in eyenet/__init__.py"
}
