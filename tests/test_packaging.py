"""The sdist and the wheel carry EyeNet's code and never the LibreNMS recordings.

tests/data/librenms holds GPL v3 test fixtures kept beside the code as a separate
aggregate (its NOTICE); MANIFEST.in and pyproject.toml keep them out of every artefact.
This builds both artefacts, as ``python -m build --sdist --wheel`` does, from a copy of
the working tree (the files git tracks, and new ones it does not ignore), so the
repository itself gets no build/ or egg-info, and looks inside them.

``--no-isolation``: the build uses this environment's setuptools, wheel and build (the
test extras) and needs no network. ``--skip-dependency-check``: the environment's
setuptools may be older than the minimum pyproject.toml asks of isolated builds;
what goes into the artefacts is the same.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RECORDINGS = "tests/data/librenms/"


def source_files() -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    )
    return [name for name in out.stdout.decode().split("\0") if name and (REPO / name).is_file()]


def leaked(members: list[str]) -> list[str]:
    return [m for m in members if "librenms" in m.lower() or m.endswith(".snmprec")]


@pytest.mark.slow  # copies the tree (~35 MB) and builds twice: a few seconds
def test_sdist_and_wheel_hold_no_recordings(tmp_path):
    files = source_files()
    recordings = [name for name in files if name.startswith(RECORDINGS)]
    assert any(name.endswith(".snmprec") for name in recordings), "no recordings to keep out: the check would prove nothing"
    src = tmp_path / "src"
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--skip-dependency-check",
         "--outdir", str(dist), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, f"python -m build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")

    with tarfile.open(sdist) as tar:
        # Members are <name>-<version>/<path>.
        in_sdist = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()]
        sources = next(m for m in tar.getmembers() if m.name.endswith(".egg-info/SOURCES.txt"))
        listed = tar.extractfile(sources).read().decode().split()
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = whl.namelist()

    assert leaked(in_sdist) == []
    assert leaked(listed) == []
    assert leaked(in_wheel) == []
    # ... and they do carry EyeNet: its code and the device profiles it reads at run time
    # (the top-level collectors/ folder, installed as the package eyenet.collectors).
    for members in (in_sdist, in_wheel):
        assert "eyenet/__init__.py" in members
    assert "collectors/generic.toml" in in_sdist
    assert "eyenet/collectors/generic.toml" in in_wheel
    assert not [m for m in in_wheel if m.startswith("tests/")]
    # The built dashboard, so that an install serves / without Node: the page and what it names.
    static = "eyenet/web/dashboard/static/"
    page = (REPO / static / "index.html").read_text()
    for name in ("index.html", "THIRD-PARTY-LICENSES.txt", *(f"assets/{a}" for a in re.findall(r'"/assets/([^"]+)"', page))):
        assert static + name in in_wheel, name


def test_the_package_list_names_every_package():
    """pyproject.toml lists the packages (collectors/ cannot be found by a search of eyenet/):
    a package left off the list would be missing from every install."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "eyenet").rglob("__init__.py")}
    assert listed == found | {"eyenet.collectors"}
