"""The database's files: who may read them, who may serve them, and what is said of it (pure).

The store's edge (store.db) sets the modes and takes the lock; the numbers and the words
are here.
"""

from __future__ import annotations

# Beside the database, read by SQLite with it.
COMPANIONS = ("-wal", "-shm")
# The lock file beside the database that makes one EyeNet its only owner.
LOCK_SUFFIX = ".lock"
# Owner only: password hashes, SNMP communities and the history are in these files.
FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


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
