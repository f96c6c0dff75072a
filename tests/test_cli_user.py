"""`eyenet user add|list|passwd|del` end to end, through eyenet.cli.main and on a real terminal."""

import io
import logging
import os
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import trio

from eyenet import config
from eyenet.auth import initial
from eyenet.auth.users import authenticate, ensure_admin
from eyenet.cli import main
from eyenet.store.db import Store
from eyenet.store.schema import connect, migrate

REPO = Path(__file__).resolve().parents[1]


def run(capsys, monkeypatch, *args, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["user", *args])
    out, err = capsys.readouterr()
    return code, out, err


def check_login(db, username, password):
    async def login():
        async with Store.open(db) as store:
            return await authenticate(store, username, password)

    return trio.run(login)


def test_user_lifecycle(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "eyenet.db")
    code, out, err = run(capsys, monkeypatch, "add", "root", "--role", "admin", "--password-stdin", "--db", db,
                         stdin="root-password\n")
    assert code == 0 and err == "" and out.startswith("added root (admin), id u-")
    code, out, _ = run(capsys, monkeypatch, "add", "alice", "--role", "operator", "--scope", "core", "dc1",
                       "--scope", "lab", "--password-stdin", "--db", db, stdin="alice-password\r\n")
    assert code == 0
    alice_id = out.split()[-1]

    code, out, _ = run(capsys, monkeypatch, "list", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "USERNAME", "ROLE", "SCOPE"]
    assert lines[1].split() == [alice_id, "alice", "operator", "core,dc1,lab"]
    assert lines[2].split()[1:] == ["root", "admin", "(all", "devices)"]
    assert lines[1].index("alice") == lines[0].index("USERNAME")  # columns line up
    assert "$scrypt" not in out and "password" not in out
    assert check_login(db, "alice", "alice-password").scope == ("core", "dc1", "lab")

    code, out, _ = run(capsys, monkeypatch, "passwd", "ALICE", "--password-stdin", "--db", db, stdin="new-password\n")
    assert code == 0 and out == "changed the password of alice; its tokens are revoked\n"
    assert check_login(db, "alice", "alice-password") is None
    assert check_login(db, "alice", "new-password").id == alice_id

    code, out, _ = run(capsys, monkeypatch, "del", "alice", "--db", db)
    assert code == 0 and out == "deleted alice\n"
    code, out, _ = run(capsys, monkeypatch, "list", "--db", db)
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["root"]


def test_user_errors_are_one_line(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "eyenet.db")
    assert run(capsys, monkeypatch, "add", "root", "--role", "admin", "--password-stdin", "--db", db, stdin="root-password\n")[0] == 0
    for args, stdin, code, message in [
        (["add", "Root", "--role", "viewer", "--password-stdin"], "whatever-pass\n", 1, "a user named 'root' already exists"),
        (["add", "bad name", "--role", "viewer", "--password-stdin"], "whatever-pass\n", 2, "bad username 'bad name'"),
        (["add", "bob", "--role", "viewer", "--password-stdin"], "short\n", 2, "password is too short"),
        (["add", "bob", "--role", "viewer"], "", 2, "no terminal to ask for the password on: give it on stdin with --password-stdin"),
        (["passwd", "nobody", "--password-stdin"], "whatever-pass\n", 1, f"no user named 'nobody' in {db}"),
        (["del", "nobody"], "", 1, f"no user named 'nobody' in {db}"),
        (["del", "root"], "", 1, "'root' is the last admin: give another user the admin role first"),
    ]:
        result = run(capsys, monkeypatch, *args, "--db", db, stdin=stdin)
        assert result[0] == code and result[1] == "", (args, result)
        lines = result[2].splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"eyenet: {message}"), (args, result)
    code, out, err = run(capsys, monkeypatch, "list", "--db", str(tmp_path / "typo.db"))
    assert code == 1 and err == f"eyenet: {tmp_path / 'typo.db'}: no such database file\n"
    assert not (tmp_path / "typo.db").exists()


def test_the_database_comes_from_the_configuration(tmp_path, capsys, monkeypatch):
    (tmp_path / "data").mkdir()
    conf = tmp_path / "eyenet.toml"
    conf.write_text('[store]\npath = "data/eyenet.db"\n')
    code, _, err = run(capsys, monkeypatch, "add", "ops", "--role", "viewer", "-c", str(conf), "--password-stdin",
                       stdin="ops-password\n")
    assert code == 0, err
    assert check_login(str(tmp_path / "data" / "eyenet.db"), "ops", "ops-password") is not None
    code, out, _ = run(capsys, monkeypatch, "list", "--config", str(conf))
    assert code == 0 and "ops" in out
    conf.write_text('[store]\npath = 3\n')
    code, _, err = run(capsys, monkeypatch, "list", "-c", str(conf))
    assert code == 2 and f"{conf}: store.path: must be str" in err


def test_the_configuration_is_found_by_default(tmp_path, capsys, monkeypatch):
    """The installed service's file first, then ./eyenet.toml; -c and --db still choose."""
    etc = tmp_path / "etc" / "eyenet.toml"
    monkeypatch.setattr(config, "DEFAULT_PATHS", (str(etc), "./eyenet.toml"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, _, err = run(capsys, monkeypatch, "list")
    assert code == 2 and err == (f"eyenet: no configuration file at {etc} or ./eyenet.toml: "
                                 "give one with -c FILE, or the database with --db PATH\n")

    (work / "eyenet.toml").write_text('[store]\npath = "here.db"\n')
    code, out, err = run(capsys, monkeypatch, "add", "ops", "--role", "viewer", "--password-stdin", stdin="ops-password\n")
    assert code == 0, err
    assert check_login(str(work / "here.db"), "ops", "ops-password") is not None

    etc.parent.mkdir()
    etc.write_text(f'[store]\npath = "{tmp_path / "service.db"}"\n')
    assert run(capsys, monkeypatch, "add", "svc", "--role", "viewer", "--password-stdin", stdin="svc-password\n")[0] == 0
    assert check_login(str(tmp_path / "service.db"), "svc", "svc-password") is not None
    code, out, _ = run(capsys, monkeypatch, "list")
    assert code == 0 and "svc" in out and "ops" not in out
    code, out, _ = run(capsys, monkeypatch, "list", "-c", "eyenet.toml")
    assert code == 0 and "ops" in out and "svc" not in out
    code, out, _ = run(capsys, monkeypatch, "list", "--db", "here.db")
    assert code == 0 and "ops" in out


def test_a_new_admin_password_removes_the_first_ones_file(tmp_path, capsys, monkeypatch, caplog):
    db = str(tmp_path / "eyenet.db")

    async def first_start():
        async with Store.open(db) as store:
            return await ensure_admin(store, {}, keep=lambda password: initial.keep(tmp_path, password))

    first = trio.run(first_start)
    kept = tmp_path / "initial-admin-password"
    assert kept.read_text() == first + "\n"
    with caplog.at_level(logging.INFO, logger="eyenet.auth"):
        code, out, err = run(capsys, monkeypatch, "passwd", "admin", "--password-stdin", "--db", db, stdin="admin-password\n")
    assert code == 0, err
    assert f"removed {kept}: the first password of admin no longer works" in caplog.messages
    assert not kept.exists() and check_login(db, "admin", "admin-password") is not None
    # Another user's password leaves a file of the first admin's alone; none to remove says nothing.
    run(capsys, monkeypatch, "add", "bob", "--role", "admin", "--password-stdin", "--db", db, stdin="bob-password\n")
    initial.keep(tmp_path, first)
    run(capsys, monkeypatch, "passwd", "bob", "--password-stdin", "--db", db, stdin="bob-password-2\n")
    assert kept.exists()
    assert run(capsys, monkeypatch, "del", "admin", "--db", db)[1] == "deleted admin\n"
    assert not kept.exists()


def test_user_commands_leave_metrics_history_alone(tmp_path, capsys, monkeypatch):
    """The command does not know the service's retention, so it must not prune with the defaults."""
    db = tmp_path / "eyenet.db"
    conn = connect(str(db))
    migrate(conn)
    conn.execute("INSERT INTO metrics_raw VALUES ('d', 'cpu', 1000, 1.0)")
    conn.close()
    assert run(capsys, monkeypatch, "list", "--db", str(db))[0] == 0
    assert sqlite3.connect(db).execute("SELECT count(*) FROM metrics_raw").fetchone()[0] == 1


def _read_until(fd, needle: bytes, timeout=20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"waited for {needle!r}, got {seen!r}"
        seen += os.read(fd, 1024)
    return seen


def test_the_password_is_asked_twice_on_a_terminal(tmp_path):
    db = str(tmp_path / "eyenet.db")

    def add(name, first, second):
        controller, terminal = os.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "eyenet.cli", "user", "add", name, "--role", "viewer", "--db", db],
            stdin=terminal, stdout=terminal, stderr=terminal, cwd=REPO, start_new_session=True,
        )
        os.close(terminal)
        try:
            _read_until(controller, b"Password: ")
            os.write(controller, first + b"\n")
            _read_until(controller, b"Password again: ")
            os.write(controller, second + b"\n")
            assert proc.wait(timeout=30) is not None
            rest = b""
            while select.select([controller], [], [], 0.5)[0]:
                try:
                    chunk = os.read(controller, 1024)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                rest += chunk
        finally:
            os.close(controller)
        assert first not in rest  # not echoed
        return proc.returncode, rest.decode()

    code, output = add("carol", b"carol-password", b"carol-typo")
    assert code == 2 and "eyenet: the two passwords differ" in output
    code, output = add("carol", b"carol-password", b"carol-password")
    assert code == 0 and "added carol (viewer)" in output
    assert check_login(db, "carol", "carol-password") is not None
