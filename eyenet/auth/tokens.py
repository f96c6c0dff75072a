"""JWTs (issue, verify), the server secret, per-session event keys and JWE for sensitive payloads.

The server secret (``[auth] secret_file``, default ``jwt.secret`` beside the database)
is 32 random bytes created at first start with mode 0600; a file that group or others
may access is refused. With HS256 it is the signing key. Whatever the algorithm, the
event keys come from it: ``HMAC-SHA256(HKDF(secret, "eyenet event keys v1"), jti)``, so a
session's key needs no stored state and is the same after a restart. With RS256, ES256
or EdDSA the tokens are signed with the configured private key (PEM, mode 0600 too).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import stat
from datetime import datetime, timezone

import attrs
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from eyenet.auth.model import ROLES, User
from eyenet.config import AuthSettings

SECRET_BYTES = 32
# A JWT from us is ~300-500 bytes; refuse to parse anything far beyond that.
MAX_TOKEN = 8192
_EVENT_KEY_LABEL = b"eyenet event keys v1"


class TokenError(Exception):
    """A token that is refused. code: AUTH_INVALID or TOKEN_EXPIRED (the wire error codes)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KeyFileError(Exception):
    """The secret or a key file cannot be used; str() names the setting, the file and the reason."""

    def __init__(self, setting: str, path: str | None, reason: str):
        super().__init__(f"{setting}: {reason}" if path is None else f"{setting}: {path}: {reason}")


@attrs.frozen
class Claims:
    user_id: str
    role: str
    scope: tuple[str, ...]  # device tags; empty: every device
    expires_at: datetime  # UTC
    issued_at: datetime  # UTC
    token_id: str  # jti
    generation: int = 0  # gen: the user's generation when issued (a later one revokes the token)


@attrs.frozen
class IssuedToken:
    token: str = attrs.field(repr=False)
    claims: Claims
    expires_at: datetime


# -- secret and key files -----------------------------------------------------------------------


def _read_private_file(setting: str, path: str) -> bytes:
    """Contents of a file only its owner may access (FileNotFoundError passes through)."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise KeyFileError(setting, path, "is not a regular file")
            if st.st_mode & 0o077:
                raise KeyFileError(
                    setting, path,
                    f"group or others may access it (mode {stat.S_IMODE(st.st_mode):04o}): run chmod 600 {path}",
                )
            return f.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError(setting, path, f"cannot read: {exc.strerror}") from None


def _create_secret(path: str) -> None:
    # Written whole under a temporary name, then linked into place: a crash never leaves a
    # short secret behind, and of two first starts racing, both end up with the one linked first.
    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise KeyFileError("auth.secret_file", path, f"cannot create: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(SECRET_BYTES))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)


def _check_secret(path: str, secret: bytes) -> bytes:
    if len(secret) < SECRET_BYTES:
        raise KeyFileError(
            "auth.secret_file", path,
            f"holds {len(secret)} bytes, at least {SECRET_BYTES} are needed: remove it to have a new one made "
            "(tokens already issued stop working)",
        )
    return secret


def load_secret(path: str) -> bytes:
    """The server secret in `path`, created if there is none."""
    try:
        return _check_secret(path, _read_private_file("auth.secret_file", path))
    except FileNotFoundError:
        _create_secret(path)
        return _check_secret(path, _read_private_file("auth.secret_file", path))


def _check_key_type(algorithm: str, key) -> str | None:
    """Why `key` (private or public) cannot sign/verify `algorithm`, or None."""
    if algorithm == "RS256":
        if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            return "is not an RSA key (auth.algorithm RS256 needs one)"
        if key.key_size < 2048:
            return f"is a {key.key_size}-bit RSA key: use at least 2048 bits"
    elif algorithm == "ES256":
        if not isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            return "is not a P-256 (secp256r1) EC key (auth.algorithm ES256 needs one)"
    elif not isinstance(
        key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PrivateKey, ed448.Ed448PublicKey)
    ):
        return "is not an Ed25519 or Ed448 key (auth.algorithm EdDSA needs one)"
    return None


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_key_pair(settings: AuthSettings):
    """(private key, public key) for an asymmetric algorithm, checked against each other and the algorithm."""
    path = settings.private_key
    if path is None:
        raise KeyFileError("auth.private_key", None, f"is required with auth.algorithm = {settings.algorithm!r}")
    try:
        data = _read_private_file("auth.private_key", path)
    except FileNotFoundError:
        raise KeyFileError("auth.private_key", path, "does not exist") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError("auth.private_key", path, "is encrypted: store it without a passphrase (mode 0600)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError("auth.private_key", path, "is not a PEM private key") from None
    if (why := _check_key_type(settings.algorithm, private)) is not None:
        raise KeyFileError("auth.private_key", path, why)
    public = private.public_key()
    if settings.public_key is not None:
        try:
            with open(settings.public_key, "rb") as f:
                given = serialization.load_pem_public_key(f.read())
        except OSError as exc:
            raise KeyFileError("auth.public_key", settings.public_key, f"cannot read: {exc.strerror}") from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFileError("auth.public_key", settings.public_key, "is not a PEM public key") from None
        if _public_bytes(given) != _public_bytes(public):
            raise KeyFileError("auth.public_key", settings.public_key, f"does not belong to the private key {path}")
    return private, public


def check_settings(settings: AuthSettings) -> list[str]:
    """What would stop the authority from starting, as 'auth.KEY: file: reason' lines; creates nothing."""
    problems = []
    try:
        _check_secret(settings.secret_file, _read_private_file("auth.secret_file", settings.secret_file))
    except FileNotFoundError:
        parent = os.path.dirname(settings.secret_file) or "."
        if not os.path.isdir(parent):
            problems.append(f"auth.secret_file: {settings.secret_file}: its directory {parent} does not exist")
    except KeyFileError as exc:
        problems.append(str(exc))
    if settings.algorithm != "HS256":
        try:
            load_key_pair(settings)
        except KeyFileError as exc:
            problems.append(str(exc))
    return problems


# -- tokens -------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _invalid(message: str) -> TokenError:
    return TokenError("AUTH_INVALID", message)


def _number(payload: dict, name: str) -> float:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"the {name!r} claim is not a number")
    return value


class TokenAuthority:
    """Issues and verifies EyeNet's JWTs and derives the per-session event keys.

    Build it with :meth:`from_settings` at start (it may create the secret file)."""

    def __init__(self, settings: AuthSettings, secret: bytes, signing_key=None, verifying_key=None):
        self.settings = settings
        self.algorithm = settings.algorithm
        self._signing_key = secret if signing_key is None else signing_key
        self._verifying_key = secret if verifying_key is None else verifying_key
        self._event_root = HKDF(hashes.SHA256(), length=32, salt=None, info=_EVENT_KEY_LABEL).derive(secret)

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> TokenAuthority:
        """Raises KeyFileError when the secret or a key file cannot be used."""
        secret = load_secret(settings.secret_file)
        if settings.algorithm == "HS256":
            return cls(settings, secret)
        private, public = load_key_pair(settings)
        return cls(settings, secret, private, public)

    def issue(self, user: User, ttl: int | None = None, now: datetime | None = None) -> IssuedToken:
        """A token for `user` valid `ttl` seconds (default [auth] token_ttl) from `now`."""
        ttl = self.settings.token_ttl if ttl is None else ttl
        if not 0 < ttl <= self.settings.max_token_lifetime:
            raise ValueError(f"ttl must be greater than 0 seconds and at most [auth] max_token_lifetime, not {ttl}")
        iat = int((now or datetime.now(timezone.utc)).timestamp())
        payload = {
            "sub": user.id, "role": user.role, "iat": iat, "exp": iat + ttl,
            "iss": self.settings.issuer, "jti": secrets.token_urlsafe(16), "gen": user.generation,
        }
        if user.scope:
            payload["scope"] = list(user.scope)
        token = jwt.encode(payload, self._signing_key, algorithm=self.algorithm)
        claims = Claims(user.id, user.role, tuple(user.scope), _utc(iat + ttl), _utc(iat), payload["jti"], user.generation)
        return IssuedToken(token, claims, claims.expires_at)

    def verify(self, token: str, now: datetime | None = None) -> Claims:
        """The claims of a token this server issued; TokenError otherwise. Messages never quote the token."""
        if not isinstance(token, str) or not token:
            raise _invalid("the token must be a non-empty string")
        if len(token) > MAX_TOKEN:
            raise _invalid(f"the token is longer than {MAX_TOKEN} characters")
        try:
            payload = jwt.decode(
                token, self._verifying_key,
                # Only the configured algorithm: this is what stops "none" and HS/RS key confusion.
                algorithms=[self.algorithm],
                issuer=self.settings.issuer,
                # Time and the claims' types are checked below (time against `now`).
                options={"require": ["exp", "iat", "sub", "role", "jti", "iss", "gen"], "verify_exp": False,
                         "verify_iat": False, "verify_nbf": False, "verify_sub": False, "verify_jti": False},
            )
        except jwt.InvalidAlgorithmError:
            raise _invalid(f"the token is not signed with {self.algorithm}, the only algorithm accepted here") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"the token has no {exc.claim!r} claim") from None
        except jwt.InvalidIssuerError:
            raise _invalid(f"the token was not issued by {self.settings.issuer!r}") from None
        except jwt.DecodeError:
            raise _invalid("the token is not a well-formed signed JWT") from None
        except jwt.InvalidTokenError as exc:
            raise _invalid(f"the token is invalid ({exc})") from None
        exp, iat = _number(payload, "exp"), _number(payload, "iat")
        nbf = _number(payload, "nbf") if "nbf" in payload else None
        sub, role, jti, gen = payload["sub"], payload["role"], payload["jti"], payload["gen"]
        scope = payload.get("scope", [])
        if not isinstance(sub, str) or not sub:
            raise _invalid("the 'sub' claim is not a user id")
        if role not in ROLES:
            raise _invalid(f"unknown role (expected one of {', '.join(ROLES)})")
        if not isinstance(jti, str) or not jti:
            raise _invalid("the 'jti' claim is not a token id")
        if not isinstance(scope, list) or not all(isinstance(t, str) for t in scope):
            raise _invalid("the 'scope' claim is not a list of device tags")
        if isinstance(gen, bool) or not isinstance(gen, int) or gen < 0:
            raise _invalid("the 'gen' claim is not a generation (an integer from 0)")
        try:
            expires_at, issued_at = _utc(exp), _utc(iat)
        except (OverflowError, OSError, ValueError):
            raise _invalid("the 'exp' or 'iat' claim is out of range") from None
        now_ts = (now or datetime.now(timezone.utc)).timestamp()
        skew = self.settings.clock_skew
        if now_ts >= exp + skew:
            raise TokenError("TOKEN_EXPIRED", f"the token expired at {expires_at.isoformat()}")
        if iat > now_ts + skew:
            raise _invalid("the token was issued in the future: check the clocks (or [auth] clock_skew)")
        if nbf is not None and nbf > now_ts + skew:
            raise _invalid("the token is not valid yet (its 'nbf' is in the future): check the clocks (or [auth] clock_skew)")
        if exp - iat > self.settings.max_token_lifetime:
            raise _invalid(f"the token lives longer than [auth] max_token_lifetime ({self.settings.max_token_lifetime} seconds)")
        return Claims(sub, role, tuple(scope), expires_at, issued_at, jti, gen)

    def event_key(self, claims: Claims) -> bytes:
        """The 32-byte key of the session that holds this token: the key of its JWE payloads."""
        return hmac.new(self._event_root, claims.token_id.encode("utf-8"), hashlib.sha256).digest()

    def event_key_b64(self, claims: Claims) -> str:
        """event_key as base64url without padding: login's `eventKey` (a JWK "k")."""
        return _b64(self.event_key(claims))


# -- JWE ----------------------------------------------------------------------------------------

_JWE_HEADER = _b64(b'{"alg":"dir","enc":"A256GCM"}')
_JWE_AAD = _JWE_HEADER.encode("ascii")


@functools.lru_cache(maxsize=4096)
def _aesgcm(key: bytes) -> AESGCM:
    # One cipher object per session key: building it costs as much as encrypting a small event.
    return AESGCM(key)


def jwe_encrypt(key: bytes, plaintext: bytes) -> str:
    """JWE compact serialization, alg "dir", enc "A256GCM", with a random 96-bit IV."""
    if len(key) != 32:
        raise ValueError(f"A256GCM needs a 32-byte key, not {len(key)} bytes")
    iv = os.urandom(12)
    sealed = _aesgcm(key).encrypt(iv, plaintext, _JWE_AAD)
    return f"{_JWE_HEADER}..{_b64(iv)}.{_b64(sealed[:-16])}.{_b64(sealed[-16:])}"
