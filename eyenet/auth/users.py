"""Users in the store: creating them, changing passwords, logging in, the first admin.

A user's id is generated (``u-`` and 16 hex digits), not the username: a user deleted
and created again under the same name is a different principal, so a token issued to
the old one (its ``sub``) never names the new one. Usernames are unique regardless of
case.

A password hash (scrypt) takes 16 MiB and ~50-100 ms of a core. They run in worker threads,
at most HASHES at once (`limit_hashes` sets it from [auth] hash_concurrency): a flood of
logins then waits its turn instead of taking a core and 16 MiB each, which memory kept
(glibc keeps each thread's freed buffers in that thread's arena).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

import trio

from eyenet.auth.model import USERNAME, AuthError, User, check_password, check_role, check_scope, check_username
from eyenet.auth.passwords import decoy_hash, hash_password, verify_password

if TYPE_CHECKING:
    from eyenet.store.db import Store
ADMIN_PASSWORD_ENV = "EYENET_ADMIN_PASSWORD"

HASHES = trio.CapacityLimiter(2)


def limit_hashes(count: int) -> None:
    HASHES.total_tokens = count


async def hashed(password: str) -> str:
    return await trio.to_thread.run_sync(hash_password, password, limiter=HASHES)


# -- users in the store -------------------------------------------------------------------------


async def new_user(username: str, role: str, password: str, scope: Iterable[str] = ()) -> User:
    """A validated User with a fresh id and its password hashed (in a worker thread); not yet stored."""
    check_username(username)
    check_role(role)
    tags = check_scope(scope)
    check_password(password, username=username)
    return User(
        id=f"u-{secrets.token_hex(8)}", username=username, role=role, scope=tags,
        password_hash=await hashed(password), created_at=int(time.time()),
    )


async def set_password(store: Store, user: User, password: str) -> User:
    """The user with its new password; its tokens are revoked."""
    check_password(password, username=user.username)
    changed = await store.change_user(user.id, password_hash=await hashed(password))
    if changed is None:
        raise AuthError(f"no user named {user.username!r}")
    return changed


async def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password is right, else None. An unknown username costs the same
    time as a wrong password, so timing does not tell which usernames exist."""
    user = await store.user_by_name(username) if USERNAME.fullmatch(username) else None
    stored = user.password_hash if user is not None else decoy_hash()
    ok = await trio.to_thread.run_sync(verify_password, password, stored, limiter=HASHES)
    return user if ok and user is not None else None


async def ensure_admin(store: Store, environ: Mapping[str, str], keep: Callable[[str], object] = lambda password: None) -> str | None:
    """On first start (no user at all) create `admin` with role admin.

    Its password is $EYENET_ADMIN_PASSWORD if set (returns None), else a generated one, given
    to keep() before the user is stored (a failing keep() leaves no admin that nobody can log
    in as) and returned; it is never logged or stored in clear in the database.
    """
    if await store.users():
        return None
    given = environ.get(ADMIN_PASSWORD_ENV)
    if given is not None:
        check_password(given, ADMIN_PASSWORD_ENV)
    password = given if given is not None else secrets.token_urlsafe(18)
    admin = await new_user("admin", "admin", password)
    if given is None:
        keep(password)
    if not await store.add_user(admin, if_no_users=True):
        return None  # another process created the first user meanwhile
    return None if given is not None else password
