"""Password hashing with scrypt (stdlib).

The stored string carries its parameters, ``$scrypt$n=16384,r=8,p=1$<salt>$<hash>``
(base64url), so they can be raised later without invalidating stored hashes. Hashing
costs ~50-100 ms of CPU on purpose, so async code runs it in a worker thread.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32


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
def decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))
