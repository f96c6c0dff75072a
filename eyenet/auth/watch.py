"""The watch over the users table: keeps a Standing (auth.standing) current, and tells
its listeners whose tokens stopped standing.

Every REST call, push authentication and `auth:refresh` asks the Standing: a dict lookup.
It stays current three ways:

- this process's own user changes (a logout, PATCH or DELETE of a user) reload it before
  they are answered, so the very next call with a revoked token is refused;
- a poll of the store's users_version, every POLL seconds on a connection of its own,
  notices changes other processes make (`eyenet user passwd` beside the running server);
- a token the Standing refuses is looked at again after a read of that one-row counter,
  so a user created elsewhere a moment ago is not refused for the poll's sake.

Why a counter moved by triggers on the users table and not SQLite's `PRAGMA data_version`:
that moves with every metric batch (each second), and each would reload the table. Why
not read the user on every call instead: a thread hop and a read per request and per push
authentication, and open sockets, which make no call, would still need the poll to learn
that they must close.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from eyenet.auth.standing import Standing
from eyenet.auth.tokens import Claims, TokenError

if TYPE_CHECKING:
    from eyenet.store.db import Store

log = logging.getLogger("eyenet.auth")

POLL = 0.25  # seconds: a revocation from another process closes sockets well within 1 s


class UserWatch:
    def __init__(self, store: Store, poll: float = POLL) -> None:
        self.store = store
        self.poll = poll
        self.standing = Standing()
        self._lock = trio.Lock()
        self._listeners: list[Callable[[frozenset[str]], None]] = []
        self._failing = False

    def listen(self, fn: Callable[[frozenset[str]], None]) -> None:
        """fn(user ids) after each load that revoked the tokens of some users."""
        self._listeners.append(fn)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await self.reload()
        task_status.started()
        while True:
            await trio.sleep(self.poll)
            try:
                if await self.store.users_version() != self.standing.version:
                    await self.reload()
            except sqlite3.Error as exc:  # the file is locked or gone for now: the next round tries again
                if not self._failing:
                    log.error("cannot read the users to check tokens against them: %s", exc)
                self._failing = True
            else:
                self._failing = False

    async def reload(self) -> None:
        async with self._lock:
            version, generations = await self.store.user_generations()
            gone = self.standing.load(version, generations)
        if gone:
            for fn in self._listeners:
                fn(gone)

    def refusal(self, claims: Claims) -> str | None:
        """Why the token of these claims no longer stands, as last read; None: it stands."""
        return self.standing.refusal(claims.user_id, claims.generation)

    async def admit(self, claims: Claims) -> None:
        """TokenError AUTH_INVALID unless the token's user exists at the token's generation."""
        reason = self.refusal(claims)
        if reason is not None and await self.store.users_version() != self.standing.version:
            await self.reload()
            reason = self.refusal(claims)
        if reason is not None:
            raise TokenError("AUTH_INVALID", reason)
