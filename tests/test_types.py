"""mypy over eyenet, as pyproject.toml's [tool.mypy] says: strict where its overrides say so."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy(tmp_path):
    # A cache of its own: a cold run takes seconds, and the work tree stays clean.
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy")], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
