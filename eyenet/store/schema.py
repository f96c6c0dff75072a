"""The SQLite schema as numbered migrations, applied in order on open; a database newer than
this EyeNet is refused rather than guessed at."""

import sqlite3

from eyenet.store.errors import StoreError

# Each entry moves the schema from version N to N+1; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        port INTEGER NOT NULL DEFAULT 161,
        version TEXT NOT NULL DEFAULT '2c',
        community TEXT NOT NULL DEFAULT 'public',
        poll_interval REAL NOT NULL DEFAULT 60,
        tags TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL DEFAULT 'api',
        created_at INTEGER NOT NULL
    );
    CREATE TABLE metrics_raw (
        device_id TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL
    );
    CREATE INDEX metrics_raw_key ON metrics_raw (device_id, metric, ts);
    CREATE INDEX metrics_raw_ts ON metrics_raw (ts);
    CREATE TABLE metrics_5m (
        device_id TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL,
        min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (device_id, metric, ts)
    ) WITHOUT ROWID;
    CREATE TABLE metrics_1h (
        device_id TEXT NOT NULL, metric TEXT NOT NULL, ts INTEGER NOT NULL,
        min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (device_id, metric, ts)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        scope TEXT NOT NULL DEFAULT '[]',
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    """,
    """
    CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        interface TEXT NOT NULL DEFAULT '',
        metric TEXT NOT NULL,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
        value REAL,
        threshold REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        updated_by TEXT,
        notified INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX alerts_one_active ON alerts (rule_id, device_id, interface) WHERE status != 'resolved';
    CREATE INDEX alerts_created ON alerts (created_at);
    CREATE INDEX alerts_device ON alerts (device_id, created_at);
    CREATE TABLE alert_history (
        alert_id TEXT NOT NULL, change TEXT NOT NULL, status TEXT NOT NULL, by TEXT, at REAL NOT NULL, value REAL
    );
    CREATE INDEX alert_history_alert ON alert_history (alert_id);
    CREATE TABLE rules (id TEXT PRIMARY KEY, body TEXT NOT NULL, source TEXT NOT NULL, updated_at INTEGER NOT NULL);
    CREATE TABLE maintenance (
        id TEXT PRIMARY KEY, starts REAL NOT NULL, ends REAL NOT NULL, devices TEXT NOT NULL, tags TEXT NOT NULL,
        reason TEXT NOT NULL, created_by TEXT
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    CREATE TABLE topology (ts REAL NOT NULL, graph TEXT NOT NULL);
    CREATE INDEX topology_ts ON topology (ts);
    ALTER TABLE alerts ADD COLUMN suppressed_by TEXT;
    """,
    """
    CREATE TABLE ml_jobs (
        id TEXT PRIMARY KEY, device_id TEXT NOT NULL, metric TEXT NOT NULL, start INTEGER NOT NULL,
        end INTEGER NOT NULL, baseline INTEGER NOT NULL, status TEXT NOT NULL, results TEXT NOT NULL,
        reason TEXT, created_by TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL
    );
    CREATE INDEX ml_jobs_status ON ml_jobs (status);
    """,
    # A user's tokens carry its generation: raising it revokes them all. The counter is
    # moved by every change of the users table, whoever makes it (`eyenet user` in another
    # process too), so a running EyeNet notices one by reading one row.
    """
    ALTER TABLE users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE user_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO user_changes VALUES (1, 0);
    CREATE TRIGGER users_inserted AFTER INSERT ON users BEGIN UPDATE user_changes SET n = n + 1; END;
    CREATE TRIGGER users_updated AFTER UPDATE ON users BEGIN UPDATE user_changes SET n = n + 1; END;
    CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN UPDATE user_changes SET n = n + 1; END;
    CREATE TABLE audit (
        at REAL NOT NULL, action TEXT NOT NULL, username TEXT, user_id TEXT, actor TEXT, address TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_at ON audit (at);
    """,
    """
    ALTER TABLE devices ADD COLUMN snmpv3 TEXT NOT NULL DEFAULT '{}';
    """,
    # Traps as received: varbinds as the JSON list of the trap event.
    """
    CREATE TABLE traps (
        id INTEGER PRIMARY KEY, device_id TEXT NOT NULL, ts REAL NOT NULL, trap_oid TEXT NOT NULL,
        version TEXT NOT NULL, inform INTEGER NOT NULL, source TEXT NOT NULL, uptime INTEGER, varbinds TEXT NOT NULL
    );
    CREATE INDEX traps_device ON traps (device_id, id);
    CREATE INDEX traps_ts ON traps (ts);
    """,
    # Interfaces' ifOperStatus, a row per change (eyenet.collect.history.StatusChange).
    """
    CREATE TABLE interface_status (
        device_id TEXT NOT NULL, if_index INTEGER NOT NULL, ts INTEGER NOT NULL, status INTEGER NOT NULL
    );
    CREATE INDEX interface_status_key ON interface_status (device_id, if_index, ts);
    CREATE INDEX interface_status_ts ON interface_status (ts);
    """,
)

ROLLUPS = (("metrics_5m", 300), ("metrics_1h", 3600))


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses no committed transaction's integrity
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Brings the schema to the newest version; returns it."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the database is at schema version {version}, newer than this EyeNet knows ({len(MIGRATIONS)}): "
            "upgrade EyeNet or point it at another file"
        )
    for number in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Statement by statement: executescript() would commit midway.
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """The statements of a script; a trigger's body keeps its own semicolons."""
    out, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    assert not pending.strip(" \n;"), f"an incomplete statement ends the migration: {pending!r}"
    return out
