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
