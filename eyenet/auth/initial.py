"""The first admin's generated password, kept in a file of the data directory that only
EyeNet's own user may read (0600), never on stdout or in the log: under systemd both go to
the journal, which others may read and which keeps it. The file goes once the password changes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("eyenet.auth")

FILE_NAME = "initial-admin-password"
FIRST_ADMIN = "admin"  # the user the first start creates (auth.users.ensure_admin)


def password_file(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def keep(data_dir: str | Path, password: str) -> Path:
    """Write the password (one line) to the file, owner-only whatever the umask; its path."""
    path = password_file(data_dir)
    # O_NOFOLLOW: a link planted there would make EyeNet write the password where it points.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file left by an earlier first start keeps its mode otherwise
        os.write(fd, (password + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def forget(data_dir: str | Path, username: str) -> None:
    """`username`'s password changed, or the user was deleted: if the file held its password,
    which no longer works, it goes (logged, and a failure too: the file is the operator's to
    remove then)."""
    if username != FIRST_ADMIN:
        return
    path = password_file(data_dir)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("%s holds %s's first password, which no longer works, and cannot be removed: %s", path, username,
                    exc.strerror)
        return
    log.info("removed %s: the first password of %s no longer works", path, username)
