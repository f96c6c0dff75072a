"""The audit trail: logins, failed logins, logouts and user changes, each a line of the
`eyenet.audit` logger and a row of the store's audit table. Never a password or a token:
a name that is not a username (a password typed in the wrong box) is not repeated."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from eyenet.auth.model import USERNAME
from eyenet.store.errors import StoreError

if TYPE_CHECKING:
    from eyenet.store.db import Store

log = logging.getLogger("eyenet.audit")


def shown(username: str) -> str:
    return username if USERNAME.fullmatch(username) else "(not a username)"


async def record(
    store: Store, action: str, *, username: str | None = None, user_id: str | None = None, actor: str | None = None,
    address: str | None = None, detail: str = "",
) -> None:
    """action: login, login-failed, logout, user-added, user-changed, user-deleted."""
    name = None if username is None else shown(username)
    parts = [action]
    for label, value in (("user", name), ("id", user_id), ("by", actor), ("from", address)):
        if value is not None:
            parts.append(f"{label}={value}")
    if detail:
        parts.append(detail)
    log.info("%s", " ".join(parts))
    try:
        await store.audit(action, username=name, user_id=user_id, actor=actor, address=address, detail=detail)
    except StoreError:
        pass  # the store's writer has said why; the log line stands
