"""Users, password hashing, roles and scopes.

A user's id is generated (``u-`` and 16 hex digits), not the username: a user deleted
and created again under the same name is a different principal, so a token issued to
the old one (its ``sub``) never names the new one. Usernames are unique regardless of
case.

Passwords are hashed with scrypt (stdlib); the stored string carries its parameters,
``$scrypt$n=16384,r=8,p=1$<salt>$<hash>`` (base64url), so they can be raised later
without invalidating stored hashes. Hashing costs ~50-100 ms of CPU on purpose, so
async code runs it in a worker thread.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

import attrs
import trio

if TYPE_CHECKING:
    from .store import Store

ROLES = ("viewer", "operator", "admin")
# Anchored for JSON Schema (OpenAPI `pattern` searches); matched with fullmatch here, where `$`
# alone would let a trailing newline through.
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
# Longer passwords only cost hashing time; nobody types more than this.
MAX_PASSWORD = 1024
ADMIN_PASSWORD_ENV = "EYENET_ADMIN_PASSWORD"

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32


class AuthError(Exception):
    """A username, role, scope or password that cannot be accepted; str() says which and why."""


@attrs.frozen
class User:
    id: str
    username: str
    role: str
    scope: tuple[str, ...] = ()  # device tags; empty: every device
    password_hash: str = attrs.field(default="", repr=False)
    created_at: int = 0  # Unix seconds


def role_allows(role: str, needed: str) -> bool:
    """admin ⊃ operator ⊃ viewer; an unknown role is allowed nothing."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def scope_allows(scope: Collection[str], device_tags: Collection[str]) -> bool:
    """An empty scope sees every device; otherwise the device must carry one of its tags."""
    # Runs per event per session: no set built for the usual one or two tags.
    return not scope or any(tag in device_tags for tag in scope)


# -- validation ---------------------------------------------------------------------------------


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise AuthError(f"bad username {username!r}: use 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"bad role {role!r}: use one of {', '.join(ROLES)}")


def check_scope(scope: Iterable[str]) -> tuple[str, ...]:
    """The scope as a tuple without duplicates (first occurrence kept)."""
    tags = tuple(dict.fromkeys(scope))
    for tag in tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 64:
            raise AuthError(f"bad scope tag {tag!r}: a device tag is 1-64 characters, not blank")
    return tags


def check_password(password: str, what: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"{what} is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"{what} is too long: use at most {MAX_PASSWORD} characters")


# -- password hashing (synchronous: CPU-bound, call through trio.to_thread) ---------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # OpenSSL refuses to use more than maxmem (default 32 MiB); allow what the parameters need.
    maxmem = 128 * r * (n + p + 2) + (1 << 20)
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, _HASH_BYTES)
    return f"$scrypt$n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash verifies nothing."""
    try:
        _, scheme, params, salt, digest = stored.split("$")
        fields = dict(item.split("=", 1) for item in params.split(","))
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
        salt_bytes, expected = _unb64(salt), _unb64(digest)
    except (ValueError, KeyError):
        return False
    if scheme != "scrypt" or not expected:
        return False
    try:
        actual = _scrypt(password, salt_bytes, n, r, p, len(expected))
    except ValueError:  # parameters OpenSSL rejects
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


# -- users in the store -------------------------------------------------------------------------


async def new_user(username: str, role: str, password: str, scope: Iterable[str] = ()) -> User:
    """A validated User with a fresh id and its password hashed (in a worker thread); not yet stored."""
    check_username(username)
    check_role(role)
    tags = check_scope(scope)
    check_password(password)
    password_hash = await trio.to_thread.run_sync(hash_password, password)
    return User(
        id=f"u-{secrets.token_hex(8)}", username=username, role=role, scope=tags,
        password_hash=password_hash, created_at=int(time.time()),
    )


async def set_password(store: Store, user: User, password: str) -> None:
    check_password(password)
    password_hash = await trio.to_thread.run_sync(hash_password, password)
    if not await store.set_password_hash(user.id, password_hash):
        raise AuthError(f"no user named {user.username!r}")


async def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password is right, else None. An unknown username costs the same
    time as a wrong password, so timing does not tell which usernames exist."""
    user = await store.user_by_name(username) if USERNAME.fullmatch(username) else None
    stored = user.password_hash if user is not None else _decoy_hash()
    ok = await trio.to_thread.run_sync(verify_password, password, stored)
    return user if ok and user is not None else None


async def ensure_admin(store: Store, environ: Mapping[str, str]) -> str | None:
    """On first start (no user at all) create `admin` with role admin.

    Its password is $EYENET_ADMIN_PASSWORD if set (returns None), else a generated one,
    returned so the caller shows it once; it is never logged or stored in clear.
    """
    if await store.users():
        return None
    given = environ.get(ADMIN_PASSWORD_ENV)
    if given is not None:
        check_password(given, ADMIN_PASSWORD_ENV)
    password = given if given is not None else secrets.token_urlsafe(18)
    admin = await new_user("admin", "admin", password)
    if not await store.add_user(admin, if_no_users=True):
        return None  # another process created the first user meanwhile
    return None if given is not None else password
