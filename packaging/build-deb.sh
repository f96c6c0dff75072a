#!/usr/bin/env bash
# Build the Debian 12 package: dist/eyenet_<version>_<arch>.deb.
#
#   packaging/build-deb.sh [OUTDIR]        (default: dist/ in the repository)
#
# What it holds (`dpkg -i` it, then `systemctl enable --now eyenet`):
#   /usr/lib/eyenet                 a venv of Debian 12's python3.11 with EyeNet and its demo
#                                   extra (snmpsim), compiled; no pip in it
#   /usr/bin/eyenet                 -> /usr/lib/eyenet/bin/eyenet
#   /etc/eyenet/eyenet.toml         the example configuration, database in /var/lib/eyenet
#                                   (packaging/service-config.sh); a conffile, 0640 root:eyenet
#   /lib/systemd/system/eyenet.service, /usr/lib/sysusers.d/eyenet.conf,
#   /usr/lib/tmpfiles.d/eyenet.conf  the unit, its user and its directories
#   /var/lib/eyenet                 the state: database, jwt.secret (0750 eyenet:eyenet)
#   /usr/share/doc/eyenet           README.md, the pinned requirements, copyright
# The maintainer scripts (packaging/deb/) make the user and the directories with
# systemd-sysusers and systemd-tmpfiles, and reload or stop systemd only where it runs (never
# in a chroot). EyeNet is built from the files git lists under eyenet/ and collectors/ (with
# pyproject.toml, README.md, MANIFEST.in): tests/, and its GPL recordings, are not even copied;
# the package is checked for them at the end all the same (packaging/leak_check.py).
#
# Needs: Debian 12's /usr/bin/python3.11 with python3.11-venv (PYTHON= another 3.11), dpkg-deb,
# git, and PyPI (pip) for the dependencies. Root is not needed (fakeroot-free: dpkg-deb
# --root-owner-group).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
here=$repo/packaging
# shellcheck source=packaging/common.sh
. "$here/common.sh"
build_start build-deb "${1:-}" dpkg-deb dpkg git
arch=$(dpkg --print-architecture)
prefix=/usr/lib/eyenet

work=$(mktemp -d "${TMPDIR:-/tmp}/eyenet-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/src pkg=$work/pkg
mkdir -p "$src" "$pkg"

say "source: the files git lists for the wheel"
wheel_source "$repo" "$src"

say "venv: $python -> $prefix, EyeNet $version with its demo extra"
"$python" -m venv "$pkg$prefix"
"$pkg$prefix/bin/python" -m pip install --quiet --disable-pip-version-check --no-compile "${src}[demo]" >"$work/pip.log" 2>&1 \
    || { cat "$work/pip.log" >&2; die "pip install failed"; }
mkdir -p "$pkg/usr/share/doc/eyenet"
"$pkg$prefix/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable \
    | grep -v '^eyenet' >"$pkg/usr/share/doc/eyenet/requirements.txt"
"$pkg$prefix/bin/python" -m pip uninstall --quiet --yes pip setuptools >/dev/null
# The venv was made in $pkg: its scripts name that python; they run from $prefix.
rm -f "$pkg$prefix"/bin/activate* "$pkg$prefix"/bin/Activate.ps1
grep -lr --null "^#!$pkg$prefix/bin/python" "$pkg$prefix/bin" | xargs -0 -r sed -i "1s|^#!$pkg$prefix/|#!$prefix/|"
sed -i "s|$pkg||g" "$pkg$prefix/pyvenv.cfg"
! grep -rlI --exclude='*.pyc' "$pkg" "$pkg$prefix" || die "the build directory is still named in the files above"
# Compiled now (/usr/lib is read-only to the service), with the paths they run from.
"$pkg$prefix/bin/python" -m compileall -q -j0 -s "$pkg" -p / "$pkg$prefix/lib" >/dev/null

say "files: configuration, unit, sysusers, tmpfiles, state"
install -D -m 640 /dev/null "$pkg/etc/eyenet/eyenet.toml"
"$here/service-config.sh" >"$pkg/etc/eyenet/eyenet.toml"
install -D -m 644 "$here/eyenet.service" "$pkg/lib/systemd/system/eyenet.service"
install -D -m 644 "$here/eyenet.sysusers" "$pkg/usr/lib/sysusers.d/eyenet.conf"
install -D -m 644 "$here/eyenet.tmpfiles" "$pkg/usr/lib/tmpfiles.d/eyenet.conf"
install -d -m 750 "$pkg/var/lib/eyenet"
mkdir -p "$pkg/usr/bin"
ln -s ../lib/eyenet/bin/eyenet "$pkg/usr/bin/eyenet"
install -m 644 "$repo/README.md" "$pkg/usr/share/doc/eyenet/README.md"
cat >"$pkg/usr/share/doc/eyenet/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: eyenet

Files: *
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
 The Python packages in /usr/lib/eyenet keep their own licences in their
 *.dist-info directories (the list: requirements.txt beside this file).
COPYRIGHT

mkdir -p "$pkg/DEBIAN"
install -m 755 "$here"/deb/postinst "$here"/deb/prerm "$here"/deb/postrm "$pkg/DEBIAN/"
echo /etc/eyenet/eyenet.toml >"$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" "$here/deb/control" >"$pkg/DEBIAN/control"

mkdir -p "$out"
deb=$out/eyenet_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
"$python" "$here/leak_check.py" deb "$deb"
say "built $deb ($(du -h "$deb" | cut -f1), $((size / 1024)) MiB installed)"
