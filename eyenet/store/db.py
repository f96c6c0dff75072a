"""SQLite storage: devices, users, alerts with their history, alert rules, maintenance
windows, topology snapshots, traps, and metrics history with 5-minute and 1-hour rollups.

One writer task owns the write connection and applies queued writes in batches on a
worker thread, so the event loop never waits on disk. Readers use their own
connection (WAL lets them run beside the writer). Configuration writes (devices,
rules, windows), user writes and alert changes are awaited until committed (an
acknowledged alert survives a kill -9); metric samples and traps are queued and batched.

Before SQLite opens the file, the store looks at it (store.checks says what to make of
it): a missing file is created, an emptied or damaged one refused unless told to begin
anew (`init`). The files are its owner's alone (0600, in a 0700 directory when the store
creates it), and the EyeNet that serves a database holds an exclusive lock beside it
(`exclusive`), so a second one on the same file stops with the first one's pid.
`backup()` copies a database with SQLite's online backup, while EyeNet writes to it.
"""

import fcntl
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import attrs
import orjson
import trio

from eyenet.alerts.engine import Alert, AlertTransition, Change, Window
from eyenet.anomaly.model import MlJob
from eyenet.auth.model import User
from eyenet.collect.history import HistoryPoint, Sample, StatusChange
from eyenet.config import StoreSettings
from eyenet.devices.model import V3_KEYS, DeviceConfig, StoredDevice
from eyenet.events import Trap
from eyenet.health import Checks, Health, recently
from eyenet.store import checks
from eyenet.store.checks import Found
from eyenet.store.errors import AlreadyExists, Damaged, LastAdmin, StoreError
from eyenet.store.schema import ROLLUPS, connect, migrate

log = logging.getLogger("eyenet.store")

BATCH = 2000
QUEUE = 50_000
# After a failed write (disk full, file removed or locked), the writer waits this long before the next.
RETRY_AFTER = 1.0
# Samples alone wait up to this long for more before they are written (a call, such as flush,
# ends the wait). Every write hands the GIL to the writer's thread and back a few times, and
# each hand-back costs the event loop's thread a wake-up on a busy machine: written as they
# came, a poll or two at a time, that (with the JSON encoding then done there) took ~8 % of
# the poller's throughput at 200 polls/s.
SAMPLE_LINGER = 1.0
T = TypeVar("T")


_ML_COLUMNS = "id, device_id, metric, start, end, baseline, status, results, reason, created_by, created_at, updated_at"


def _ml_job(row: tuple) -> MlJob:
    return MlJob(*row[:7], tuple((label, conf) for label, conf in json.loads(row[7])), *row[8:])


def _write_samples(conn: sqlite3.Connection, encoded: list[bytes]) -> None:
    # The whole batch goes to SQLite as one JSON parameter and each table is written by one
    # statement: executemany would take and give back the GIL for every row, and while the
    # poller's thread is busy each hand-back waits for it, so the writer fell behind at ~100
    # polls a second. Each add_samples call's JSON array is joined into one.
    batch = b"[" + b",".join(e[1:-1] for e in encoded) + b"]"
    conn.execute(f"INSERT INTO metrics_raw {_SAMPLES}", (batch,))
    for table, width in ROLLUPS:
        conn.execute(
            f"INSERT INTO {table} SELECT device_id, metric, ts - ts % {width}, value, value, value, 1 "
            f"FROM ({_SAMPLES}) WHERE true "
            "ON CONFLICT (device_id, metric, ts) DO UPDATE SET "
            "min = min(min, excluded.min), max = max(max, excluded.max), sum = sum + excluded.sum, count = count + 1",
            (batch,),
        )


_SAMPLES = (
    "SELECT json_extract(value, '$[0]') AS device_id, json_extract(value, '$[1]') AS metric, "
    "json_extract(value, '$[2]') AS ts, json_extract(value, '$[3]') AS value FROM json_each(?) "
    "WHERE json_extract(value, '$[3]') IS NOT NULL"
)


# Metrics history reads, on any connection: the store's reader, or a process of its own (anomaly scans).


def read_history_start(conn: sqlite3.Connection, device_id: str, metric: str) -> int | None:
    """When the oldest point of a metric's history was taken, or None: the first raw sample,
    unless hourly rollups go back further than the hour it fell in (raw ones are pruned first)."""
    sql = ("SELECT (SELECT MIN(ts) FROM metrics_raw WHERE device_id = ?1 AND metric = ?2),"
           " (SELECT MIN(ts) FROM metrics_1h WHERE device_id = ?1 AND metric = ?2)")
    raw, hourly = conn.execute(sql, (device_id, metric)).fetchone()
    if raw is None or (hourly is not None and hourly < raw - 3600):
        return None if hourly is None else int(hourly)
    return int(raw)


def read_history(conn: sqlite3.Connection, device_id: str, metric: str, start: int, end: int, step: int = 0) -> list[HistoryPoint]:
    """Points in [start, end): raw samples for step < 300, else the 5-minute or 1-hour rollup."""
    if step >= 3600:
        table = "metrics_1h"
    elif step >= 300:
        table = "metrics_5m"
    else:
        table = None
    if table is None:
        sql = "SELECT ts, value, value, value FROM metrics_raw WHERE device_id = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts"
    else:
        sql = f"SELECT ts, sum / count, min, max FROM {table} WHERE device_id = ? AND metric = ? AND ts >= ? AND ts < ? ORDER BY ts"
    return [HistoryPoint(*r) for r in conn.execute(sql, (device_id, metric, start, end)).fetchall()]


def _write_traps(conn: sqlite3.Connection, traps: list[Trap]) -> None:
    conn.executemany("INSERT INTO traps (device_id, ts, trap_oid, version, inform, source, uptime, varbinds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (t.device_id, t.timestamp.timestamp(), t.trap_oid, t.version, int(t.inform), t.source, t.uptime,
         orjson.dumps([dict(vb) for vb in t.varbinds]))
        for t in traps
    ])


def _trap(row: tuple) -> Trap:
    return Trap(row[1], row[3], row[4], bool(row[5]), row[6], _when(row[2]), row[7], orjson.loads(row[8]))


@attrs.frozen
class StoredTrap:
    id: int  # grows with each trap stored: the key to page by
    trap: Trap


def _upsert_device(conn: sqlite3.Connection, stored: StoredDevice) -> None:
    device = stored.device
    # The SNMPv3 keys as one JSON object: only those set, so a v1/v2c device stores {}.
    snmpv3 = {k: getattr(device, k) for k in V3_KEYS if getattr(device, k) != attrs.fields_dict(DeviceConfig)[k].default}
    conn.execute(
        "INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, "
        "port = excluded.port, version = excluded.version, community = excluded.community, "
        "poll_interval = excluded.poll_interval, tags = excluded.tags, source = excluded.source, snmpv3 = excluded.snmpv3",
        (
            device.id, device.host, device.port, device.version, device.community, device.poll_interval,
            json.dumps(list(device.tags)), stored.source, int(time.time()), json.dumps(snmpv3),
        ),
    )



def _delete_device(conn: sqlite3.Connection, device_id: str) -> None:
    conn.execute("DELETE FROM devices WHERE id = ?", (device_id,))


_USER_COLUMNS = "id, username, role, scope, password_hash, created_at, generation"


def _user(row: tuple) -> User:
    return User(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], row[5], row[6])


def _add_user(conn: sqlite3.Connection, user: User, if_no_users: bool) -> bool:
    values = (
        user.id, user.username, user.role, json.dumps(list(user.scope)), user.password_hash, user.created_at, user.generation,
    )
    try:
        if if_no_users:
            cursor = conn.execute(
                f"INSERT INTO users ({_USER_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users)", values
            )
        else:
            cursor = conn.execute(f"INSERT INTO users ({_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", values)
    except sqlite3.IntegrityError as exc:
        if "users.username" not in str(exc):
            raise
        raise AlreadyExists(f"a user named {user.username!r} already exists") from None
    return cursor.rowcount == 1


def _last_admin(conn: sqlite3.Connection, user_id: str) -> tuple[str, str] | None:
    """(username, role) of the user; LastAdmin if it is the only admin."""
    row = conn.execute("SELECT username, role FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is not None and row[1] == "admin" and conn.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()[0] == 1:
        raise LastAdmin(f"{row[0]!r} is the last admin: give another user the admin role first")
    return row


def _delete_user(conn: sqlite3.Connection, user_id: str) -> bool:
    if _last_admin(conn, user_id) is None:
        return False
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return True


def _change_user(
    conn: sqlite3.Connection, user_id: str, role: str | None, scope: tuple[str, ...] | None, password_hash: str | None,
) -> User | None:
    if role not in (None, "admin") and _last_admin(conn, user_id) is None:
        return None
    sets, args = ["generation = generation + 1"], []
    for column, value in (("role", role), ("scope", None if scope is None else json.dumps(list(scope))), ("password_hash", password_hash)):
        if value is not None:
            sets.append(f"{column} = ?")
            args.append(value)
    conn.execute(f"UPDATE users SET {', '.join(sets)} WHERE id = ?", (*args, user_id))
    row = conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else _user(row)


def _generations(conn: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    conn.execute("BEGIN")  # one snapshot for the counter and the table
    try:
        version = conn.execute("SELECT n FROM user_changes").fetchone()[0]
        return version, dict(conn.execute("SELECT id, generation FROM users").fetchall())
    finally:
        conn.execute("COMMIT")


_ALERT_COLUMNS = (
    "id, rule_id, device_id, interface, metric, severity, message, status, value, threshold, created_at, updated_at, "
    "updated_by, notified, suppressed_by"
)


def _when(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)


def _alert(row: tuple) -> Alert:
    return Alert(
        id=row[0], rule_id=row[1], device_id=row[2], interface=row[3] or None, metric=row[4], severity=row[5],
        message=row[6], status=row[7], value=row[8], threshold=row[9], created_at=_when(row[10]),
        updated_at=_when(row[11]), updated_by=row[12], notified=bool(row[13]), suppressed_by=row[14],
    )


def _record_changes(conn: sqlite3.Connection, changes: list[Change]) -> None:
    for c in changes:
        a = c.alert
        conn.execute(
            f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "status = excluded.status, value = excluded.value, updated_at = excluded.updated_at, "
            "updated_by = excluded.updated_by, notified = excluded.notified",
            (
                a.id, a.rule_id, a.device_id, a.interface or "", a.metric, a.severity, a.message, a.status, a.value,
                a.threshold, a.created_at.timestamp(), a.updated_at.timestamp(), a.updated_by, int(a.notified),
                a.suppressed_by,
            ),
        )
        conn.execute(
            "INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?)", (a.id, c.kind, a.status, c.by, c.at.timestamp(), a.value)
        )


def _window(row: tuple) -> Window:
    return Window(
        id=row[0], starts=_when(row[1]), ends=_when(row[2]), devices=tuple(json.loads(row[3])),
        tags=tuple(json.loads(row[4])), reason=row[5], created_by=row[6],
    )


def _put_rule(conn: sqlite3.Connection, body: Mapping[str, Any], source: str) -> None:
    conn.execute(
        "INSERT INTO rules VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
        "source = excluded.source, updated_at = excluded.updated_at",
        (body["id"], json.dumps(body), source, int(time.time())),
    )


def _seed_rules(conn: sqlite3.Connection, defaults: list[Mapping[str, Any]]) -> bool:
    if conn.execute("SELECT 1 FROM meta WHERE key = 'default_rules'").fetchone():
        return False
    for body in defaults:
        conn.execute("INSERT OR IGNORE INTO rules VALUES (?, ?, 'default', ?)", (body["id"], json.dumps(body), int(time.time())))
    conn.execute("INSERT INTO meta VALUES ('default_rules', ?)", (json.dumps([b["id"] for b in defaults]),))
    return True


def _prune(conn: sqlite3.Connection, retention: StoreSettings, now: float) -> None:
    for table, days in (
        ("metrics_raw", retention.raw_days),
        ("metrics_5m", retention.rollup_5m_days),
        ("metrics_1h", retention.rollup_1h_days),
        # A row per change, not per poll: kept as long as the longest history.
        ("interface_status", retention.rollup_1h_days),
    ):
        conn.execute(f"DELETE FROM {table} WHERE ts < ?", (int(now - days * 86400),))
    # Topology snapshots live as long as the longest history; the latest always stays.
    conn.execute(
        "DELETE FROM topology WHERE ts < ? AND ts < (SELECT max(ts) FROM topology)",
        (int(now - retention.rollup_1h_days * 86400),),
    )
    conn.execute("DELETE FROM audit WHERE at < ?", (now - retention.audit_days * 86400,))
    conn.execute("DELETE FROM traps WHERE ts < ?", (now - retention.trap_days * 86400,))
    conn.execute("DELETE FROM traps WHERE id <= (SELECT max(id) FROM traps) - ?", (retention.max_traps,))


# -- the files: owner, lock, first look, backup ----------------------------------------------


def _claim(path: str) -> tuple[int, int]:
    """Make this process the one EyeNet on the database at `path`: the umask that keeps what
    it creates its owner's, its directory (created 0700 if missing), and the exclusive lock
    (flock) on the lock file beside it, with our pid in it. Returns (lock fd, previous umask)."""
    previous = os.umask(checks.UMASK)
    lock_path = path + checks.LOCK_SUFFIX
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=checks.DIR_MODE, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, checks.FILE_MODE)
    except OSError as exc:
        os.umask(previous)
        raise StoreError(f"{lock_path}: cannot open the lock file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:
        held = isinstance(exc, BlockingIOError)
        text = os.pread(fd, 64, 0).decode("ascii", "replace") if held else ""
        os.close(fd)
        os.umask(previous)
        raise StoreError(checks.locked(path, text) if held else f"{lock_path}: cannot lock: {exc.strerror}") from None
    return fd, previous


def _release(claim: tuple[int, int]) -> None:
    fd, previous = claim
    os.close(fd)  # and with it the lock; the file stays (removing it would race the next start)
    os.umask(previous)


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _quick_check(path: str) -> str | None:
    """What `PRAGMA quick_check` finds wrong with the database at `path` (None: nothing);
    StoreError when it cannot tell (locked, unreadable). Read-only: a read-write connection
    would write its WAL into a file being judged (the checkpoint on close), or create one."""
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=5000")
            rows = [row[0] for row in conn.execute("PRAGMA quick_check")]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if _is_damage(exc):
            return f"cannot open the database: {exc}"
        raise StoreError(f"{path}: cannot open the database to check it: {exc}") from None
    return checks.damage(rows)


def _is_damage(exc: sqlite3.Error) -> bool:
    """Does SQLite say the file is damaged (not busy, full or gone)? Extended codes keep the
    primary one in their low byte."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def _owner_only(path: str) -> None:
    """The database and its companions: mode 0600 (a database made by an older EyeNet was 0644)."""
    for name in (path, *(path + suffix for suffix in (*checks.COMPANIONS, checks.LOCK_SUFFIX))):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, checks.FILE_MODE)
        except FileNotFoundError:
            pass
        except OSError as exc:  # not ours: say so, the operator decides
            log.warning("%s: cannot make it its owner's alone (chmod 600): %s", name, exc.strerror)


def _prepare(path: str, init: bool) -> None:
    """Look at the file before SQLite does (store.checks): create it when there is none,
    refuse an emptied or damaged one, or with `init` move it aside and create a new one."""
    found = checks.first_look(_size(path), _size(path + "-wal"))
    problem = _quick_check(path) if found is Found.FILE else None
    if found is Found.FILE and problem is None:
        _owner_only(path)
        return
    if found is not Found.NOTHING:
        if not init:
            raise StoreError(checks.refusal(path, found, problem))
        aside = checks.aside_name(path, datetime.now())
        for suffix in ("", *checks.COMPANIONS):
            if os.path.lexists(path + suffix):
                os.replace(path + suffix, aside + suffix)
        log.warning("%s %s; moved aside as %s, a new, empty database begins (--init)", path, checks.described(found, problem), aside)
    try:  # created here, so that it is 0600 whatever the umask (SQLite gives -wal and -shm its mode)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, checks.FILE_MODE))
    except FileExistsError:
        pass  # another command created it just now (`eyenet user add` beside a first start)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the database: {exc.strerror}") from None


def backup(source: str | Path, target: str | Path) -> int:
    """Copy the database at `source` to the new file `target` (0600) with SQLite's online
    backup, in one step: a consistent snapshot, taken while EyeNet goes on writing (WAL lets
    a reader run beside the writer). The copy is a single file (no -wal), checked with
    quick_check before it takes its name. Returns its size in bytes; StoreError otherwise."""
    source, target = str(source), str(target)
    if not _size(source):
        raise StoreError(f"{source}: no database there" if _size(source) is None else f"{source} is empty (0 bytes)")
    if os.path.lexists(target):
        raise StoreError(f"{target} exists: give the backup a new name (a backup never replaces a file)")
    tmp = f"{target}.{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, checks.FILE_MODE))
        src = sqlite3.connect(Path(source).absolute().as_uri() + "?mode=ro", uri=True, isolation_level=None)
        try:
            src.execute("PRAGMA busy_timeout=5000")
            dst = sqlite3.connect(tmp, isolation_level=None)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
                problem = checks.damage([row[0] for row in dst.execute("PRAGMA quick_check")])
            finally:
                dst.close()
        finally:
            src.close()
        if problem is not None:
            raise StoreError(f"{source}: the copy does not pass its check ({problem}): is the database damaged?")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.link(tmp, target)  # never over a file that appeared meanwhile
    except sqlite3.Error as exc:
        raise StoreError(f"{source}: cannot back up: {exc}") from None
    except FileExistsError:
        raise StoreError(f"{target} exists: give the backup a new name (a backup never replaces a file)") from None
    except OSError as exc:
        raise StoreError(f"cannot write the backup {target}: {exc.strerror}") from None
    finally:
        for name in (tmp, tmp + "-journal"):
            if os.path.lexists(name):
                os.unlink(name)
    return os.stat(target).st_size


class Store:
    """Use as `async with Store.open(path) as store:`."""

    def __init__(self, path: str, retention: StoreSettings):
        self.path = path
        self.retention = retention
        self._send, self._receive = trio.open_memory_channel[tuple](QUEUE)
        self._writer = connect(path)
        self._reader = connect(path)
        self._read_lock = trio.Lock()
        self._watcher = connect(path)
        self._watch_lock = trio.Lock()
        self.dropped_samples = 0
        self.dropped_traps = 0
        self._dropped_at: float | None = None  # time.monotonic() of the last drop
        self._writing = False  # the write loop runs
        self._failing: str | None = None  # why the last write failed; None after a success
        # What SQLite said when it found the file damaged at run time. It stays: a later read
        # or write that happens to miss the bad page does not make the file sound again.
        self._damaged: str | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: str | Path, retention: StoreSettings = StoreSettings(), prune_every: float | None = 3600.0,
        *, exclusive: bool = False, init: bool = False,
    ):
        """retention: the *_days of StoreSettings (its path is not used: `path` is).
        prune_every None: never prune (a command that may not know the configured retention).
        exclusive: this is the EyeNet that serves the database: lock it (StoreError naming the
        holder's pid if another has it) and keep what the process creates its owner's (umask 077),
        until closed. init: begin a new database where the file is empty or damaged (moved aside)."""
        path = str(path)
        claim = await trio.to_thread.run_sync(_claim, path) if exclusive else None
        try:
            async with cls._opened(path, retention, prune_every, init) as store:
                yield store
        finally:
            if claim is not None:
                _release(claim)

    @classmethod
    @asynccontextmanager
    async def _opened(cls, path: str, retention: StoreSettings, prune_every: float | None, init: bool):
        await trio.to_thread.run_sync(_prepare, path, init)
        try:
            store = cls(path, retention)
            await trio.to_thread.run_sync(migrate, store._writer)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from None
        error = None
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(store._write_loop)
                if prune_every is not None:
                    nursery.start_soon(store._prune_loop, prune_every)
                try:
                    yield store
                except Exception as exc:
                    error = exc  # re-raised below, outside the nursery's ExceptionGroup
                finally:
                    await store.flush()
                    nursery.cancel_scope.cancel()
        finally:
            store._writer.close()
            store._reader.close()
            store._watcher.close()
        if error is not None:
            raise error

    # -- writes ---------------------------------------------------------------

    def add_samples(self, samples: list[Sample]) -> None:
        """Queue metric samples; never waits. If the disk falls this far behind, the samples are counted and dropped.

        They are encoded here, as JSON (orjson: ~15x faster than json, the same shortest float
        repr, so values read back exactly; a NaN or infinity becomes null and its row is left
        out): ~100 a poll, queued as tuples they lived a second or more, long enough for the
        cyclic GC to scan each, and the writer's thread held the GIL to encode them."""
        if not samples:
            return
        try:
            self._send.send_nowait(("samples", orjson.dumps(samples, default=tuple), None))
        except trio.WouldBlock:
            self._dropped(len(samples))

    def add_status_changes(self, changes: list[StatusChange]) -> None:
        """Queue interfaces' status changes; never waits. If the disk falls this far behind, they
        are counted and dropped with the samples."""
        if not changes:
            return
        try:
            self._send.send_nowait(("statuses", changes, None))
        except trio.WouldBlock:
            self._dropped(len(changes))

    def add_traps(self, traps: list[Trap]) -> None:
        """Queue traps; never waits. If the disk falls this far behind, they are counted and dropped."""
        if not traps:
            return
        try:
            self._send.send_nowait(("traps", traps, None))
        except trio.WouldBlock:
            self.dropped_traps += len(traps)

    def _dropped(self, count: int) -> None:
        self.dropped_samples += count
        self._dropped_at = time.monotonic()

    def health(self) -> Health:
        queued = self._send.statistics().current_buffer_used
        checks = Checks({
            "queued": queued, "queueCapacity": QUEUE, "droppedSamples": self.dropped_samples, "droppedTraps": self.dropped_traps,
        })
        if not self._writing:
            checks.down("the writer is not running: nothing is saved")
        if self._failing is not None:
            checks.down(f"writes fail: {self._failing}")
        if self._damaged is not None:
            checks.down(
                f"the database is damaged ({self._damaged}): stop EyeNet and restore a backup, or start anew with --init"
            )
        if queued >= QUEUE // 2:
            checks.degraded(f"{queued} writes queued (of {QUEUE}): the disk is falling behind")
        if recently(self._dropped_at, time.monotonic()):
            checks.degraded("metric samples were dropped in the last 5 minutes: the disk fell behind")
        return checks.health()

    async def upsert_device(self, device: StoredDevice) -> None:
        await self._call(lambda conn: _upsert_device(conn, device))

    async def delete_device(self, device_id: str) -> None:
        await self._call(lambda conn: _delete_device(conn, device_id))

    async def add_user(self, user: User, *, if_no_users: bool = False) -> bool:
        """Store a new user; AlreadyExists if the username is taken (in any case).
        if_no_users: only if the table is empty (first start); returns whether it was added."""
        return await self._call(lambda conn: _add_user(conn, user, if_no_users))

    async def change_user(
        self, user_id: str, *, role: str | None = None, scope: tuple[str, ...] | None = None, password_hash: str | None = None,
    ) -> User | None:
        """Change what is given and raise the user's generation, which revokes its tokens (with
        nothing given, that is all it does: a logout). The user as it now is; None if there is
        no such user; LastAdmin rather than take the role of the only admin."""
        return await self._call(lambda conn: _change_user(conn, user_id, role, scope, password_hash))

    async def audit(self, action: str, *, username: str | None = None, user_id: str | None = None,
                    actor: str | None = None, address: str | None = None, detail: str = "") -> None:
        """One line of the audit trail (never a password or a token)."""
        row = (time.time(), action, username, user_id, actor, address, detail)
        await self._call(lambda conn: conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)", row))

    async def delete_user(self, user_id: str) -> bool:
        """False if there is no such user; LastAdmin rather than leave no admin."""
        return await self._call(lambda conn: _delete_user(conn, user_id))

    async def record_alert_changes(self, changes: list[Change]) -> None:
        """Each change's alert as it now is, and the change in its history (who, when)."""
        await self._call(lambda conn: _record_changes(conn, changes))

    # Rules are kept as the JSON bodies the alerts package writes and reads (each with its "id"):
    # what a rule means is not the store's business.

    async def seed_rules(self, defaults: list[Mapping[str, Any]]) -> bool:
        """Store the shipped rules once, at the first start: one an operator deleted stays deleted."""
        return await self._call(lambda conn: _seed_rules(conn, defaults))

    async def put_rule(self, body: Mapping[str, Any], source: str) -> None:
        """source: "default" (shipped), "config" (the configuration file) or "api"."""
        await self._call(lambda conn: _put_rule(conn, body, source))

    async def delete_rule(self, rule_id: str) -> bool:
        return await self._call(lambda conn: conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount == 1)

    async def put_window(self, window: Window) -> None:
        w = window
        await self._call(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO maintenance VALUES (?, ?, ?, ?, ?, ?, ?)",
            (w.id, w.starts.timestamp(), w.ends.timestamp(), json.dumps(list(w.devices)), json.dumps(list(w.tags)),
             w.reason, w.created_by),
        ))

    async def delete_window(self, window_id: str) -> bool:
        return await self._call(lambda conn: conn.execute("DELETE FROM maintenance WHERE id = ?", (window_id,)).rowcount == 1)

    async def add_topology(self, ts: float, graph: dict) -> None:
        """A snapshot of the topology graph (taken when it changes)."""
        await self._call(lambda conn: conn.execute("INSERT INTO topology VALUES (?, ?)", (ts, json.dumps(graph))))

    async def put_ml_job(self, job: MlJob) -> None:
        values = (
            job.id, job.device_id, job.metric, job.start, job.end, job.baseline, job.status,
            json.dumps([list(r) for r in job.results]), job.reason, job.created_by, job.created_at, job.updated_at,
        )
        await self._call(lambda conn: conn.execute(f"INSERT OR REPLACE INTO ml_jobs ({_ML_COLUMNS}) VALUES ({', '.join('?' * 12)})", values))

    async def ml_job(self, job_id: str) -> MlJob | None:
        row = await self._read(lambda c: c.execute(f"SELECT {_ML_COLUMNS} FROM ml_jobs WHERE id = ?", (job_id,)).fetchone())
        return None if row is None else _ml_job(row)

    async def unfinished_ml_jobs(self) -> list[MlJob]:
        rows = await self._read(lambda c: c.execute(
            f"SELECT {_ML_COLUMNS} FROM ml_jobs WHERE status IN ('queued', 'running') ORDER BY created_at"
        ).fetchall())
        return [_ml_job(r) for r in rows]

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._call(lambda conn: None)

    async def prune(self, now: float | None = None) -> None:
        await self._call(lambda conn: _prune(conn, self.retention, time.time() if now is None else now))

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn in the writer's next transaction, wait until it is committed, return what fn returned.
        fn may raise StoreError to refuse: its changes alone are rolled back."""
        done = trio.Event()
        box: list = []
        await self._send.send(("call", fn, (done, box)))
        await done.wait()
        error, result = box[0]
        if error is not None:
            raise error
        return result

    async def _write_loop(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._writing = True
        task_status.started()
        try:
            await self._write_batches()
        finally:
            self._writing = False

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._receive.receive()]
            if batch[0][2] is None:  # samples: wait for more, unless a call comes (someone waits for it)
                with trio.move_on_after(SAMPLE_LINGER):
                    while len(batch) < BATCH and batch[-1][2] is None:
                        batch.append(await self._receive.receive())
            while len(batch) < BATCH:
                try:
                    batch.append(self._receive.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                outcomes = await trio.to_thread.run_sync(self._apply, batch, abandon_on_cancel=False)
            except sqlite3.Error as exc:
                # The database cannot be written now (disk full, file gone or locked): refuse this
                # batch's calls, count its samples as dropped, and keep the loop for when it can.
                self._check_damage(exc)
                if self._failing is None:
                    log.error("%s: writes fail: %s (retrying every %g s)", self.path, exc, RETRY_AFTER)
                self._failing = str(exc)
                error = StoreError(f"{self.path}: cannot write: {exc}")
                outcomes = [(error, None)] * len(batch)
                self._dropped(sum(len(orjson.loads(payload)) for kind, payload, _ in batch if kind == "samples"))
                self._dropped(sum(len(payload) for kind, payload, _ in batch if kind == "statuses"))
                self.dropped_traps += sum(len(payload) for kind, payload, _ in batch if kind == "traps")
            else:
                if self._failing is not None:
                    log.info("%s: writes work again", self.path)
                self._failing = None
            for (_, _, waiter), outcome in zip(batch, outcomes):
                if waiter is not None:
                    done, box = waiter
                    box.append(outcome)
                    done.set()
            if self._failing is not None:
                await trio.sleep(RETRY_AFTER)

    def _apply(self, batch: list[tuple]) -> list[tuple[StoreError | None, object]]:
        """One transaction for the whole batch; a failing call is rolled back alone (savepoint)."""
        conn = self._writer
        outcomes: list[tuple[StoreError | None, object]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            samples = [payload for kind, payload, _ in batch if kind == "samples"]
            if samples:
                _write_samples(conn, samples)
            traps = [trap for kind, payload, _ in batch if kind == "traps" for trap in payload]
            if traps:
                _write_traps(conn, traps)
            statuses = [change for kind, payload, _ in batch if kind == "statuses" for change in payload]
            if statuses:
                conn.executemany("INSERT INTO interface_status VALUES (?, ?, ?, ?)", statuses)
            for kind, payload, _ in batch:
                if kind != "call":
                    outcomes.append((None, None))
                    continue
                conn.execute("SAVEPOINT op")
                try:
                    result = payload(conn)
                    conn.execute("RELEASE op")
                    outcomes.append((None, result))
                except (sqlite3.Error, StoreError) as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    if isinstance(exc, sqlite3.Error):
                        exc = self._check_damage(exc) or StoreError(f"{self.path}: {exc}")
                    outcomes.append((exc, None))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT may have ended it already
                conn.execute("ROLLBACK")
            raise
        return outcomes

    async def _prune_loop(self, every: float) -> None:
        while True:
            try:
                await self.prune()
            except StoreError:  # the writer logged why; the next round tries again
                pass
            await trio.sleep(every)

    # -- reads ----------------------------------------------------------------

    async def _read(self, fn):
        async with self._read_lock:
            try:
                return await trio.to_thread.run_sync(fn, self._reader)
            except sqlite3.Error as exc:
                damage = self._check_damage(exc)
                if damage is None:
                    raise
                raise damage from None

    def _check_damage(self, exc: sqlite3.Error) -> Damaged | None:
        """When SQLite says the file is damaged: health turns down (and stays so), and the
        error for the caller. The first time only, an ERROR line (every query may hit it)."""
        if not _is_damage(exc):
            return None
        if self._damaged is None:
            log.error("%s is damaged: %s (EyeNet goes on as far as it can; restore a backup)", self.path, exc)
            self._damaged = str(exc)
        return Damaged(f"{self.path} is damaged: {exc}")

    async def _watch(self, fn):
        # Its own connection: the watch of the users must not wait behind a long history query.
        async with self._watch_lock:
            return await trio.to_thread.run_sync(fn, self._watcher)

    async def devices(self) -> list[StoredDevice]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT id, host, port, version, community, poll_interval, tags, source, snmpv3 FROM devices ORDER BY id"
            ).fetchall()
        )
        return [
            StoredDevice(DeviceConfig(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), **json.loads(r[8])), r[7])
            for r in rows
        ]

    async def users(self) -> list[User]:
        rows = await self._read(lambda c: c.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username").fetchall())
        return [_user(r) for r in rows]

    async def user_by_name(self, username: str) -> User | None:
        """Usernames match regardless of case."""
        row = await self._read(
            lambda c: c.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?", (username,)).fetchone()
        )
        return None if row is None else _user(row)

    async def users_version(self) -> int:
        """A counter every change of the users table moves, whichever process makes it."""
        return await self._watch(lambda c: c.execute("SELECT n FROM user_changes").fetchone()[0])

    async def user_generations(self) -> tuple[int, dict[str, int]]:
        """(users_version, user id -> generation), read together."""
        return await self._watch(_generations)

    async def audit_trail(self, limit: int = 100) -> list[tuple]:
        """The latest lines of the audit trail, newest first: (at, action, username, user_id, actor, address, detail)."""
        return await self._read(lambda c: c.execute("SELECT * FROM audit ORDER BY at DESC LIMIT ?", (limit,)).fetchall())

    async def user_by_id(self, user_id: str) -> User | None:
        row = await self._read(lambda c: c.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone())
        return None if row is None else _user(row)

    async def topology(self, before: float | None = None) -> tuple[float, dict] | None:
        """The latest snapshot (or the latest before `before`, Unix seconds): (ts, graph)."""
        row = await self._read(lambda c: c.execute(
            "SELECT ts, graph FROM topology WHERE ts < ? ORDER BY ts DESC LIMIT 1",
            (float("inf") if before is None else before,),
        ).fetchone())
        return None if row is None else (row[0], json.loads(row[1]))

    async def rules(self) -> list[tuple[dict[str, Any], str]]:
        """(body, source) of every stored rule, by id."""
        rows = await self._read(lambda c: c.execute("SELECT body, source FROM rules ORDER BY id").fetchall())
        return [(json.loads(body), source) for body, source in rows]

    async def windows(self) -> list[Window]:
        rows = await self._read(lambda c: c.execute(
            "SELECT id, starts, ends, devices, tags, reason, created_by FROM maintenance ORDER BY starts"
        ).fetchall())
        return [_window(r) for r in rows]

    async def alerts(
        self, *, active_only: bool = False, status: str | None = None, severity: str | None = None,
        device_id: str | None = None, devices: list[str] | None = None, limit: int | None = None,
    ) -> list[Alert]:
        """Newest first. active_only: open and acknowledged; devices: only these (a user's scope)."""
        where, args = [], []
        if active_only:
            where.append("status != 'resolved'")
        if devices is not None:
            where.append(f"device_id IN ({', '.join('?' * len(devices))})" if devices else "0")
            args.extend(devices)
        for column, value in (("status", status), ("severity", severity), ("device_id", device_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = await self._read(lambda c: c.execute(sql, args).fetchall())
        return [_alert(r) for r in rows]

    async def alert(self, alert_id: str) -> tuple[Alert, list[AlertTransition]] | None:
        """The alert and its history, oldest change first."""
        def read(c):
            row = c.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            history = c.execute(
                "SELECT change, status, by, at, value FROM alert_history WHERE alert_id = ? ORDER BY rowid", (alert_id,)
            ).fetchall()
            return row, history
        row, history = await self._read(read)
        if row is None:
            return None
        return _alert(row), [AlertTransition(h[0], h[1], h[2], _when(h[3]), h[4]) for h in history]

    async def traps(self, device_id: str, *, before: int | None = None, limit: int = 100) -> list[StoredTrap]:
        """A device's traps, newest first; before: only those stored before the trap of that id."""
        rows = await self._read(lambda c: c.execute(
            "SELECT id, device_id, ts, trap_oid, version, inform, source, uptime, varbinds FROM traps"
            " WHERE device_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
            (device_id, 2**63 - 1 if before is None else before, limit),
        ).fetchall())
        return [StoredTrap(r[0], _trap(r)) for r in rows]

    async def history_start(self, device_id: str, metric: str) -> int | None:
        """When the oldest point of a metric's history was taken, or None (read_history_start)."""
        return await self._read(lambda c: read_history_start(c, device_id, metric))

    async def status_start(self, device_id: str, if_index: int) -> int | None:
        """When an interface's status was first stored, or None."""
        sql = "SELECT MIN(ts) FROM interface_status WHERE device_id = ? AND if_index = ?"
        return (await self._read(lambda c: c.execute(sql, (device_id, if_index)).fetchone()))[0]

    async def status_changes(self, device_id: str, if_index: int, start: int, end: int) -> list[tuple[int, int]]:
        """An interface's stored statuses (ts, ifOperStatus number) in [start, end), after the last
        one before start (its status at start), if any."""
        sql = ("SELECT ts, status FROM (SELECT ts, status FROM interface_status WHERE device_id = ?1 AND if_index = ?2"
               " AND ts < ?3 ORDER BY ts DESC LIMIT 1) UNION ALL SELECT ts, status FROM interface_status"
               " WHERE device_id = ?1 AND if_index = ?2 AND ts >= ?3 AND ts < ?4 ORDER BY ts")
        return await self._read(lambda c: c.execute(sql, (device_id, if_index, start, end)).fetchall())

    async def history(self, device_id: str, metric: str, start: int, end: int, step: int = 0) -> list[HistoryPoint]:
        """Points in [start, end) (read_history)."""
        return await self._read(lambda c: read_history(c, device_id, metric, start, end, step))
