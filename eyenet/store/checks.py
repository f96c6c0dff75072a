"""What to do with the database file found at start, and what is said about it (pure).

At start the store looks at its file before SQLite does, because SQLite would take an
empty or missing file for a new database and EyeNet would start empty: users, rules,
alerts and history gone without a word, and a new admin created. So:

- no file at all: the first start, a database is created;
- a file of 0 bytes: emptied (a truncation, a failed copy): refused, unless started
  with ``--init``, which moves it aside and creates a new one;
- any other file: ``PRAGMA quick_check`` must say ``ok``; a damaged file (or one that is
  not a database) is refused the same way, and ``--init`` moves it aside too.

Nothing is ever deleted: a file moved aside keeps its name with ``.damaged-<time>`` added,
its -wal and -shm beside it. The edge (store.db) looks, checks and moves; the decisions and
the words are here.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

# Beside the database, read by SQLite with it: moved aside with it.
COMPANIONS = ("-wal", "-shm")
# The lock file beside the database that makes one EyeNet its only owner.
LOCK_SUFFIX = ".lock"
# Owner only: password hashes, SNMP communities and the history are in these files.
FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


class Found(enum.Enum):
    NOTHING = "nothing"  # no file: create the database
    EMPTY = "empty"  # 0 bytes: refuse, or --init
    LOG_ONLY = "log only"  # no file, but its write-ahead log: refuse, or --init
    FILE = "file"  # check it


def first_look(size: int | None, wal_size: int | None) -> Found:
    """From the sizes of the database file and of its -wal (None: no such file)."""
    if size is None:
        return Found.LOG_ONLY if wal_size else Found.NOTHING
    return Found.EMPTY if size == 0 else Found.FILE


def damage(rows: Sequence[str]) -> str | None:
    """What `PRAGMA quick_check` found wrong (its first lines), or None when it said ok."""
    if list(rows) == ["ok"]:
        return None
    if not rows:
        return "the integrity check gave no answer"
    shown = "; ".join(rows[:3])
    return shown + (f" (and {len(rows) - 3} more problems)" if len(rows) > 3 else "")


def aside_name(path: str, when: datetime) -> str:
    """Where a refused database goes when --init starts a new one."""
    return f"{path}.damaged-{when:%Y%m%dT%H%M%S}"


def described(found: Found, problem: str | None = None) -> str:
    """What is wrong with the file, after its name."""
    if found is Found.EMPTY:
        return "is empty (0 bytes): whatever it held is gone"
    if found is Found.LOG_ONLY:
        return "is missing, but its write-ahead log (-wal) is there: it was removed or moved without it"
    return f"is damaged: {problem}"


def refusal(path: str, found: Found, problem: str | None = None) -> str:
    """The message that stops EyeNet from starting on an emptied or damaged database."""
    return (
        f"{path} {described(found, problem)}. EyeNet will not start on it, as that would begin again with no users, "
        "rules or history. Restore a backup (README: Backup and restore), or start with --init to "
        f"move it aside ({path}.damaged-<time>) and begin a new, empty database"
    )


def holder(lock_text: str) -> str:
    """Who holds the lock, from the lock file's contents (the pid its holder wrote)."""
    pid = lock_text.strip().split("\n", 1)[0]
    return f"pid {pid}" if pid.isascii() and pid.isdigit() else "another process"


def locked(path: str, lock_text: str) -> str:
    """The message of a second EyeNet on the same database."""
    return (
        f"{path} is in use by another EyeNet ({holder(lock_text)}): two on one database would "
        "interleave their history and split alert state. Stop that one first, or give this one "
        "another database ([store] path, or --data-dir for the demo)"
    )
