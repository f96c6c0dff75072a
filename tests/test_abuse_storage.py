"""The real server's database on disk: its owner's alone, and one EyeNet at a time.

EyeNet runs as `eyenet run` does (tests/abuse.py), in this process where a test looks inside
it, and as the `eyenet` command in a process of its own where what counts is what an operator
sees (one line, the exit status, no traceback). Each wait is bounded.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from abuse import LIMIT, PASSWORD, config_for, login, running_eyenet
from restclient import api

from eyenet import app
from eyenet.config import AuthSettings
from eyenet.store import checks
from eyenet.store.errors import StoreError

REPO = Path(__file__).resolve().parents[1]
FILES = ("eyenet.db", "eyenet.db-wal", "eyenet.db-shm", "eyenet.db.lock", "jwt.secret")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def current_umask() -> int:
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


@pytest.fixture
def umask_022():
    """The usual umask of a shell, whatever the test run had (and back afterwards)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


async def eyenet(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    """The `eyenet` command in a process of its own: its exit status, stdout and stderr."""
    env = {**os.environ, "EYENET_ADMIN_PASSWORD": PASSWORD, "PYTHONPATH": str(REPO)}
    with trio.fail_after(60):
        return await trio.run_process(
            [sys.executable, "-m", "eyenet.cli", *args], cwd=data_dir, env=env, capture_stdout=True, capture_stderr=True,
            check=False,
        )


def run_config(data_dir: Path) -> Path:
    """A configuration file for `eyenet run` on the database in `data_dir`, no devices."""
    path = data_dir / "eyenet.toml"
    path.write_text('[store]\npath = "eyenet.db"\n\n[web]\nhost = "127.0.0.1"\nport = 0\n')
    return path


def refused(result: subprocess.CompletedProcess, *says: str) -> str:
    """An operator's refusal: exit status 1, one line on stderr naming the reason, no traceback."""
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("eyenet: "), err
    for text in says:
        assert text in err, err
    return err


# -- the files are their owner's -------------------------------------------------------------------


async def test_the_files_are_the_owners_alone_whatever_the_umask(tmp_path, monkeypatch, umask_022):
    data = tmp_path / "data"
    data.mkdir()
    async with running_eyenet(data, monkeypatch) as (port, _):
        await login(port)  # a write: the -wal and -shm exist now
        for name in FILES:
            assert mode(data / name) == 0o600, name
        assert current_umask() == 0o077  # what else EyeNet creates meanwhile is its owner's too
    assert current_umask() == 0o022  # the store gave the umask back when it closed


async def test_a_data_directory_the_store_creates_is_0700(tmp_path, monkeypatch, umask_022):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    data = tmp_path / "new" / "data"
    async with running_eyenet(data, monkeypatch, auth=AuthSettings(secret_file=str(keys / "jwt.secret"))) as (port, _):
        await login(port)
        assert mode(data) == 0o700
        for name in FILES[:4]:
            assert mode(data / name) == 0o600, name


async def test_a_database_an_older_eyenet_left_0644_becomes_0600(tmp_path, monkeypatch, umask_022):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        await login(port)
    os.chmod(tmp_path / "eyenet.db", 0o644)  # as the files of earlier versions were
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        await login(port)
        assert mode(tmp_path / "eyenet.db") == mode(tmp_path / "eyenet.db-wal") == 0o600


# -- one EyeNet per database ------------------------------------------------------------------------


async def test_a_second_eyenet_on_the_same_database_stops_naming_the_first(tmp_path, monkeypatch):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        assert (tmp_path / "eyenet.db.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(StoreError, match=f"in use by another EyeNet \\(pid {os.getpid()}\\)"), trio.fail_after(LIMIT):
            await app.run(config_for(tmp_path))  # in this process: flock locks are per open file
        err = refused(await eyenet("run", "-c", str(run_config(tmp_path)), data_dir=tmp_path),
                      f"eyenet.db is in use by another EyeNet (pid {os.getpid()})")
        assert "Stop that one first" in err
        status, _ = await api(port, "GET", "/api/health")  # the first goes on
        assert status == 200
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):  # and once it stopped, the next one starts
        await login(port)


def test_the_lock_holder_is_named_from_what_it_wrote():
    assert checks.holder("4242\n") == "pid 4242"
    assert checks.holder("") == "another process"  # caught between its truncate and its write
    assert checks.holder("\u0664\u0662") == "another process"
