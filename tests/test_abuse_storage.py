"""The real server's database on disk: its owner's alone, one EyeNet at a time, never started
empty by accident, and backed up and restored while in use.

EyeNet runs as `eyenet run` does (tests/abuse.py), in this process where a test looks inside
it, and as the `eyenet` command in a process of its own where what counts is what an operator
sees (one line, the exit status, no traceback). Each wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import trio
from abuse import LIMIT, PASSWORD, config_for, login, running_eyenet
from restclient import api

from eyenet import app
from eyenet.config import AuthSettings
from eyenet.store import checks
from eyenet.store.checks import Found
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


# -- an emptied or damaged database is refused -------------------------------------------------------


def test_what_is_made_of_the_file_found_at_start():
    assert checks.first_look(None, None) is Found.NOTHING  # the first start
    assert checks.first_look(None, 0) is Found.NOTHING  # an empty -wal alone holds nothing
    assert checks.first_look(None, 4152) is Found.LOG_ONLY
    assert checks.first_look(0, None) is checks.first_look(0, 4152) is Found.EMPTY
    assert checks.first_look(4096, None) is checks.first_look(4096, 4152) is Found.FILE
    assert checks.damage(["ok"]) is None
    assert checks.damage([f"problem {i}" for i in range(5)]) == "problem 0; problem 1; problem 2 (and 2 more problems)"
    assert checks.damage([]) == "the integrity check gave no answer"
    assert checks.aside_name("/d/eyenet.db", datetime(2025, 1, 3, 7, 12, 55)) == "/d/eyenet.db.damaged-20250103T071255"


async def make_database(data: Path, monkeypatch) -> None:
    """A database with a user in it, EyeNet stopped cleanly (no -wal left)."""
    async with running_eyenet(data, monkeypatch) as (port, _):
        token = await login(port)
        status, _ = await api(port, "POST", "/api/users", token, {"username": "ops", "password": "ops-password-123", "role": "operator"})
        assert status == 201


def garbage_pages(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(2 * page, len(data), 3 * page):  # every third page from the third on
        data[start + 100:start + page] = b"\xa5" * (page - 100)
    db.write_bytes(bytes(data))


def truncated_with_its_wal(db: Path) -> None:
    """Writes left in the WAL, as after a kill -9, and the database file cut short."""
    wal, kept = db.with_name(db.name + "-wal"), db.with_name("wal.copy")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE filler (x)")
    conn.executemany("INSERT INTO filler VALUES (?)", ((b"x" * 500,) for _ in range(200)))
    shutil.copy(wal, kept)
    conn.close()  # its checkpoint empties the WAL: put the copy back
    shutil.move(kept, wal)
    os.truncate(db, 3 * 4096)  # the tables EyeNet made are past the cut, and not in the WAL


@pytest.mark.parametrize("harm, says", [
    (lambda db: os.truncate(db, 0), "is empty (0 bytes)"),
    (garbage_pages, "is damaged"),
    (truncated_with_its_wal, "is damaged"),
    (lambda db: db.write_bytes(b"not a database" * 1000), "is damaged: cannot open the database: file is not a database"),
])
async def test_an_emptied_or_damaged_database_is_refused_and_init_begins_anew(tmp_path, monkeypatch, harm, says):
    await make_database(tmp_path, monkeypatch)
    harm(tmp_path / "eyenet.db")
    before = {p.name: p.read_bytes() for p in tmp_path.glob("eyenet.db*") if p.suffix != ".lock" and p.name[-4:] != "-shm"}
    err = refused(await eyenet("run", "-c", str(run_config(tmp_path)), data_dir=tmp_path), says, "--init")
    assert "Restore a backup" in err
    assert {name: (tmp_path / name).read_bytes() for name in before} == before  # judged, not changed

    async with running_eyenet(tmp_path, monkeypatch, init=True) as (port, _):  # `eyenet run --init`
        await login(port)  # a new database: the first admin again
        status, body = await api(port, "POST", "/api/auth/login", body={"username": "ops", "password": "ops-password-123"})
        assert status == 401  # nothing of the old one
    [aside] = tmp_path.glob("eyenet.db.damaged-*[0-9]")
    assert aside.read_bytes() == before["eyenet.db"]  # kept, never deleted
    for suffix in ("-wal", "-shm"):
        if "eyenet.db" + suffix in before:
            assert Path(str(aside) + suffix).read_bytes() == before["eyenet.db" + suffix]


async def test_a_database_removed_without_its_wal_is_refused(tmp_path, monkeypatch):
    await make_database(tmp_path, monkeypatch)
    truncated_with_its_wal(tmp_path / "eyenet.db")
    (tmp_path / "eyenet.db").unlink()
    refused(await eyenet("run", "-c", str(run_config(tmp_path)), data_dir=tmp_path), "is missing, but its write-ahead log")


async def test_no_file_at_all_is_a_first_start(tmp_path, monkeypatch):
    async with running_eyenet(tmp_path, monkeypatch) as (port, _):
        await login(port)


# -- backup and restore --------------------------------------------------------------------------------


async def test_backup_while_running_and_restore_as_the_readme_says(tmp_path, monkeypatch, umask_022):
    data, backups = tmp_path / "data", tmp_path / "backups"
    data.mkdir()
    backups.mkdir()
    copy = backups / "eyenet-1.db"
    async with running_eyenet(data, monkeypatch) as (port, _):
        token = await login(port)
        status, _ = await api(port, "POST", "/api/users", token, {"username": "ops", "password": "ops-password-123", "role": "operator"})
        assert status == 201
        result = await eyenet("backup", "--db", str(data / "eyenet.db"), str(copy), data_dir=tmp_path)
        assert result.returncode == 0 and "checked" in result.stdout.decode(), result.stderr
        refused(await eyenet("backup", "--db", str(data / "eyenet.db"), str(copy), data_dir=tmp_path), "exists")
        status, _ = await api(port, "POST", "/api/users", token, {"username": "late", "password": "late-password-123", "role": "viewer"})
        assert status == 201  # after the backup: not in it
    assert mode(copy) == 0o600 and sorted(p.name for p in backups.iterdir()) == ["eyenet-1.db"]  # one file, no -wal
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]

    # Restore (README): with EyeNet stopped, the database and its -wal and -shm moved away,
    # the backup put in its place.
    for name in ("eyenet.db", "eyenet.db-wal", "eyenet.db-shm"):
        if (data / name).exists():
            (data / name).rename(tmp_path / name)
    shutil.copyfile(copy, data / "eyenet.db")
    os.chmod(data / "eyenet.db", 0o600)
    async with running_eyenet(data, monkeypatch) as (port, _):
        for user, password, expected in (("ops", "ops-password-123", 200), ("late", "late-password-123", 401)):
            status, _ = await api(port, "POST", "/api/auth/login", body={"username": user, "password": password})
            assert status == expected, user


async def test_backup_refuses_what_is_not_a_database(tmp_path):
    refused(await eyenet("backup", "--db", str(tmp_path / "none.db"), str(tmp_path / "b.db"), data_dir=tmp_path), "no database there")
    (tmp_path / "junk.db").write_bytes(b"junk" * 1000)
    refused(await eyenet("backup", "--db", str(tmp_path / "junk.db"), str(tmp_path / "b.db"), data_dir=tmp_path), "cannot back up")
    assert not list(tmp_path.glob("b.db*"))  # no copy, no leftovers
