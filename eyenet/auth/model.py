"""Principals: a user, the three roles and what each allows, scopes (device tags), and the
checks usernames, roles, scopes and passwords must pass. No I/O but the package's own list
of common passwords, read once."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable
from importlib import resources

import attrs

ROLES = ("viewer", "operator", "admin")
# Anchored for JSON Schema (OpenAPI `pattern` searches); matched with fullmatch here, where `$`
# alone would let a trailing newline through.
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 12
# Longer passwords only cost hashing time; nobody types more than this.
MAX_PASSWORD = 1024


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
    # Raised by a password, role or scope change and by a logout: tokens carry the one they
    # were issued at, and are refused once it is no longer the user's.
    generation: int = 0


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


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def check_password(password: str, what: str = "password", username: str | None = None) -> None:
    """The policy for a new password (existing ones are not judged again at login)."""
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"{what} is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AuthError(f"{what} is too long: use at most {MAX_PASSWORD} characters")
    if password.lower() in common_passwords():
        raise AuthError(f"{what} is one of the most common passwords, the first ones tried: choose another")
    if username is not None and password.lower() == username.lower():
        raise AuthError(f"{what} is the username: choose another")
