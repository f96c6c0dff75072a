"""Check that an artefact carries none of the LibreNMS recordings (tests/data/librenms).

They are GPL v3 test fixtures, kept beside EyeNet's code as a separate aggregate
(tests/data/librenms/NOTICE): no wheel, sdist, .deb or binary may hold them. A file is a
leak if its path names librenms, or if its bytes are those of a recording (whatever its name).

    python3 packaging/leak_check.py deb FILE.deb
    python3 packaging/leak_check.py tree DIR
    BUILD-VENV/bin/python packaging/leak_check.py pyinstaller FILE     (needs PyInstaller)

Exits 1, naming each leak, or 0 with a one-line count of what it looked at.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

RECORDINGS = Path(__file__).resolve().parents[1] / "tests" / "data" / "librenms"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def recording_digests() -> set[str]:
    # Not COPYING: the GPL's own text may well be in a package of another licence's choosing.
    found = {digest(p.read_bytes()) for p in RECORDINGS.rglob("*") if p.is_file() and p.stat().st_size > 0 and p.name != "COPYING"}
    if not found:
        sys.exit(f"leak_check: no recordings under {RECORDINGS}: nothing to compare with")
    return found


def tree(root: Path) -> Iterator[tuple[str, bytes]]:
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            yield str(p.relative_to(root)), p.read_bytes()


def deb(path: Path) -> Iterator[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(path), tmp], check=True)
        yield from tree(Path(tmp))


def pyinstaller(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every entry of a one-file executable: its data files with their bytes, and the module
    names in its PYZ (compiled modules: names only)."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(path))
    for name, entry in archive.toc.items():
        typecode = entry[-1]
        if typecode == "z":
            for module in archive.open_embedded_archive(name).toc:
                yield f"{name}/{module}", b""
        else:
            yield name, archive.extract(name)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("deb", "tree", "pyinstaller"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    kind, path = argv[0], Path(argv[1])
    recordings = recording_digests()
    files = {"deb": deb, "tree": tree, "pyinstaller": pyinstaller}[kind](path)
    seen, leaks = 0, []
    for name, data in files:
        seen += 1
        if "librenms" in name.lower() or (data and digest(data) in recordings):
            leaks.append(name)
    if leaks:
        print(f"leak_check: {path} carries LibreNMS recordings (GPL test data):", *leaks, sep="\n  ", file=sys.stderr)
        return 1
    print(f"leak_check: {path}: none of the {len(recordings)} recordings in {seen} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
