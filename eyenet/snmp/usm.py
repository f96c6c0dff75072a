"""The User-based Security Model of SNMPv3 (RFC 3414), pure: keys, digests, privacy, and the
v3 messages built and opened with them. No I/O; times and counters are passed in.

Authentication: HMAC-MD5-96 and HMAC-SHA-96 (RFC 3414), HMAC-SHA-2 224/256/384/512 (RFC
7860, digests truncated to 16/24/32/48 bytes). Privacy: DES-CBC (RFC 3414), AES-128-CFB
(RFC 3826), and AES-192/256-CFB in the two key extensions in use: after Blumenthal's draft
(net-snmp's AES-192/AES-256) and after Reeder's 3DES draft (Cisco's, net-snmp's AES-192-C
and AES-256-C). Keys come from passwords (RFC 3414 A.2) localised to an engine id, cached.
"""

import functools
import hashlib
import hmac
import threading
from typing import Final

import attrs
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from eyenet.snmp.ber import INTEGER, OCTET_STRING, SEQUENCE, encode_integer, encode_signed, expect, header, read_header, read_int, tlv
from eyenet.snmp.errors import SnmpDecodeError, SnmpError
from eyenet.snmp.message import MessageV3, ScopedPdu, V3Framing, decode_scoped_pdu, encode_scoped_pdu

SECURITY_MODEL: Final = 3  # USM
FLAG_AUTH: Final = 0x01
FLAG_PRIV: Final = 0x02
FLAG_REPORTABLE: Final = 0x04
MAX_SIZE: Final = 65507  # the largest UDP payload: what this manager accepts

LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")
_LEVEL_FLAGS = {"noAuthNoPriv": 0, "authNoPriv": FLAG_AUTH, "authPriv": FLAG_AUTH | FLAG_PRIV}
# RFC 3414 11.2 asks for 8 characters at least; net-snmp refuses shorter ones, so agents have none.
MIN_PASSWORD = 8
TIME_WINDOW: Final = 150  # seconds (RFC 3414 3.2.7)
MAX_BOOTS: Final = 2**31 - 1


@attrs.frozen
class AuthProtocol:
    name: str
    hash: str  # hashlib's name
    mac_length: int  # bytes of the digest carried in msgAuthenticationParameters


@attrs.frozen
class PrivProtocol:
    name: str
    key_length: int  # bytes of localised key used (DES: 8 of key, 8 of pre-IV)
    reeder: bool = False  # key extension after Reeder (the "C" variants), else Blumenthal


AUTH_PROTOCOLS = {
    p.name: p
    for p in (
        AuthProtocol("MD5", "md5", 12),
        AuthProtocol("SHA", "sha1", 12),
        AuthProtocol("SHA-224", "sha224", 16),
        AuthProtocol("SHA-256", "sha256", 24),
        AuthProtocol("SHA-384", "sha384", 32),
        AuthProtocol("SHA-512", "sha512", 48),
    )
}
PRIV_PROTOCOLS = {
    p.name: p
    for p in (
        PrivProtocol("DES", 16),
        PrivProtocol("AES", 16),
        PrivProtocol("AES-192", 24),
        PrivProtocol("AES-256", 32),
        PrivProtocol("AES-192-C", 24, reeder=True),
        PrivProtocol("AES-256-C", 32, reeder=True),
    )
}
# The spellings net-snmp's tools and snmpd.conf also take, for the command line.
PROTOCOL_ALIASES = {
    "SHA1": "SHA", "SHA-1": "SHA", "SHA224": "SHA-224", "SHA256": "SHA-256", "SHA384": "SHA-384", "SHA512": "SHA-512",
    "AES128": "AES", "AES-128": "AES", "AES192": "AES-192", "AES256": "AES-256", "AES192C": "AES-192-C", "AES256C": "AES-256-C",
}


def protocol_name(text: str) -> str:
    """A protocol as given on a command line ("sha256", "AES192C") -> its name here ("SHA-256", "AES-192-C")."""
    upper = text.strip().upper()
    return PROTOCOL_ALIASES.get(upper, upper)


@attrs.frozen(cache_hash=True)  # the key of the caches each message looks up
class UsmUser:
    """A user's security settings. The passwords never appear in repr or any message."""

    name: str
    level: str = "noAuthNoPriv"
    auth_protocol: str = "SHA"
    auth_password: str = attrs.field(default="", repr=False)
    priv_protocol: str = "AES"
    priv_password: str = attrs.field(default="", repr=False)

    def __attrs_post_init__(self) -> None:
        if problems := user_problems(self.name, self.level, self.auth_protocol, self.auth_password, self.priv_protocol, self.priv_password):
            raise SnmpError(f"SNMPv3 user {self.name!r}: " + "; ".join(f"{key}: {reason}" for key, reason in problems))

    @property
    def flags(self) -> int:
        return _LEVEL_FLAGS[self.level]

    @property
    def auth(self) -> AuthProtocol:
        return AUTH_PROTOCOLS[self.auth_protocol]

    @property
    def priv(self) -> PrivProtocol:
        return PRIV_PROTOCOLS[self.priv_protocol]


def implied_level(auth_password: str | None, priv_password: str | None) -> str:
    """The level when none is given: the highest the passwords allow."""
    return "authPriv" if priv_password else "authNoPriv" if auth_password else "noAuthNoPriv"


def user_problems(name: str, level: str, auth_protocol: str, auth_password: str, priv_protocol: str, priv_password: str) -> list[tuple[str, str]]:
    """(key, reason) for each thing wrong with these settings; never quotes a password."""
    out = []
    if not name:
        out.append(("user", "must not be empty"))
    if len(name.encode()) > 32:
        out.append(("user", "must be at most 32 bytes (RFC 3414)"))
    if level not in _LEVEL_FLAGS:
        out.append(("level", f"must be one of {', '.join(LEVELS)}, not {level!r}"))
        return out
    if auth_protocol not in AUTH_PROTOCOLS:
        out.append(("auth_protocol", f"must be one of {', '.join(AUTH_PROTOCOLS)}, not {auth_protocol!r}"))
    if priv_protocol not in PRIV_PROTOCOLS:
        out.append(("priv_protocol", f"must be one of {', '.join(PRIV_PROTOCOLS)}, not {priv_protocol!r}"))
    if level != "noAuthNoPriv" and len(auth_password) < MIN_PASSWORD:
        out.append(("auth_password", f"is needed for {level}, of {MIN_PASSWORD} characters at least" if auth_password else f"is needed for {level}"))
    if level == "authPriv" and len(priv_password) < MIN_PASSWORD:
        out.append(("priv_password", f"is needed for authPriv, of {MIN_PASSWORD} characters at least" if priv_password else "is needed for authPriv"))
    return out


# -- keys (RFC 3414 A.2, and the key extensions) ------------------------------------------------


@functools.lru_cache(maxsize=256)
def password_key(password: bytes, hash_name: str) -> bytes:
    """Ku: the hash of the password repeated to 1 MiB. Costs milliseconds: cached."""
    n = 1_048_576
    return hashlib.new(hash_name, (password * (n // len(password) + 1))[:n]).digest()


def localize(key: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Kul = H(Ku || engine id || Ku)."""
    return hashlib.new(hash_name, key + engine_id + key).digest()


@attrs.frozen
class LocalKeys:
    auth: bytes = attrs.field(repr=False)
    priv: bytes = attrs.field(repr=False)


@functools.lru_cache(maxsize=4096)
def local_keys(user: UsmUser, engine_id: bytes) -> LocalKeys:
    """The user's authentication and privacy keys localised to an engine, cached by both."""
    if user.level == "noAuthNoPriv":
        return LocalKeys(b"", b"")
    h = user.auth.hash
    auth = localize(password_key(user.auth_password.encode(), h), engine_id, h)
    if user.level != "authPriv":
        return LocalKeys(auth, b"")
    priv = localize(password_key(user.priv_password.encode(), h), engine_id, h)
    need = user.priv.key_length
    while len(priv) < need:
        if user.priv.reeder:  # the localised key taken as a password, hashed and localised again
            priv += localize(password_key(priv, h), engine_id, h)
        else:
            priv += hashlib.new(h, priv).digest()
    return LocalKeys(auth, priv[:need])


# -- privacy ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _cipher_key(des: bool, key: bytes) -> TripleDES | algorithms.AES:
    """The cipher's key object, made once per key: it costs as much as a message's encryption."""
    # Single DES as 3DES with the key three times: cryptography keeps single-key DES only that way.
    return TripleDES(key[:8] * 3) if des else algorithms.AES(key)


class _CfbEncryptor:
    """AES-CFB-128 encryption through a context kept per key: a context per message costs
    three times a request's encryption. The context goes on from the last ciphertext block
    it gave, so a message starts with the block that comes out as its IV (the IV XOR that
    block's encryption, by a kept ECB context), and ends padded to whole blocks."""

    def __init__(self, key: bytes) -> None:
        aes = _cipher_key(False, key)
        self._cfb = Cipher(aes, CFB(bytes(16))).encryptor()
        self._ecb = Cipher(aes, modes.ECB()).encryptor()
        self._last = bytes(16)  # the last ciphertext block the context gave
        self._lock = threading.Lock()  # the three steps go together

    def encrypt(self, iv: bytes, plaintext: bytes) -> bytes:
        n = len(plaintext)
        with self._lock:
            first = (int.from_bytes(iv, "big") ^ int.from_bytes(self._ecb.update(self._last), "big")).to_bytes(16, "big")
            out = self._cfb.update(first + plaintext + bytes(-n % 16))
            self._last = out[-16:]
        return out[16 : 16 + n]


_cfb_encryptor = functools.lru_cache(maxsize=4096)(_CfbEncryptor)


def encrypt(protocol: PrivProtocol, key: bytes, boots: int, time: int, salt: int, plaintext: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, msgPrivacyParameters). salt: a counter the sender never repeats for a key."""
    if protocol.name == "DES":
        params = boots.to_bytes(4, "big") + (salt & 0xFFFFFFFF).to_bytes(4, "big")
        iv = bytes(a ^ b for a, b in zip(key[8:16], params))
        enc = Cipher(_cipher_key(True, key), modes.CBC(iv)).encryptor()
        return enc.update(plaintext + bytes(-len(plaintext) % 8)) + enc.finalize(), params
    params = (salt & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    return _cfb_encryptor(key).encrypt(boots.to_bytes(4, "big") + time.to_bytes(4, "big") + params, plaintext), params


@functools.lru_cache(maxsize=4096)
def _cfb_decryptor(key: bytes) -> CipherContext:
    """An AES-CFB-128 decryptor for the key, kept: a context per message costs five times the
    decryption. CFB decryption takes each ciphertext block as the next block's IV, so a
    message fed after its IV (that block's output dropped) decrypts from that IV whatever
    came before; padded to whole blocks, it leaves no partial block to the next message."""
    return Cipher(_cipher_key(False, key), CFB(bytes(16))).decryptor()


def decrypt(protocol: PrivProtocol, key: bytes, boots: int, time: int, params: bytes, ciphertext: bytes | memoryview) -> bytes:
    """The plaintext (DES: with its padding); SnmpDecodeError when the sizes are wrong."""
    if len(params) != 8:
        raise SnmpDecodeError(f"msgPrivacyParameters has {len(params)} bytes, not 8")
    if protocol.name == "DES":
        if len(ciphertext) % 8:
            raise SnmpDecodeError(f"DES ciphertext of {len(ciphertext)} bytes, not a multiple of 8")
        iv = bytes(a ^ b for a, b in zip(key[8:16], params))
        dec = Cipher(_cipher_key(True, key), modes.CBC(iv)).decryptor()
        return dec.update(ciphertext) + dec.finalize()
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + params
    n = len(ciphertext)
    return _cfb_decryptor(key).update(iv + ciphertext + bytes(-n % 16))[16 : 16 + n]


# -- security parameters ------------------------------------------------------------------------


@attrs.frozen
class UsmParameters:
    """UsmSecurityParameters (RFC 3414 2.4): the authoritative engine's id, boots and time, the user."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth: bytes = b""
    priv: bytes = b""


def encode_parameters(p: UsmParameters) -> tuple[bytes, int]:
    """(the encoded parameters, offset of msgAuthenticationParameters' content in them)."""
    head = (
        tlv(OCTET_STRING, p.engine_id)
        + encode_integer(p.boots)
        + encode_integer(p.time)
        + tlv(OCTET_STRING, p.user)
    )
    priv = tlv(OCTET_STRING, p.priv)
    body = tlv(SEQUENCE, head + tlv(OCTET_STRING, p.auth) + priv)
    return body, len(body) - len(priv) - len(p.auth)


def decode_parameters(data: bytes) -> tuple[UsmParameters, int]:
    """(parameters, offset of msgAuthenticationParameters' content in data)."""
    return _usual_parameters(data) or _decode_parameters(data)


def _usual_parameters(data: bytes) -> tuple[UsmParameters, int] | None:
    """decode_parameters for the shape every agent sends (one-byte lengths, boots and time in
    4 bytes at most), unrolled: a third of the generic decoder's cost, for each message. None
    for anything else, valid or not, which the generic decoder then takes, errors and all."""
    try:
        if data[0] != SEQUENCE or data[1] != len(data) - 2 or data[2] != OCTET_STRING or (n := data[3]) > 32:
            return None
        engine_id = data[4 : 4 + n]
        p = 4 + n
        if data[p] != INTEGER or not 0 < (n := data[p + 1]) <= 4 or data[p + 2] > 0x7F:
            return None
        boots = int.from_bytes(data[p + 2 : p + 2 + n], "big")
        p += 2 + n
        if data[p] != INTEGER or not 0 < (n := data[p + 1]) <= 4 or data[p + 2] > 0x7F:
            return None
        time = int.from_bytes(data[p + 2 : p + 2 + n], "big")
        p += 2 + n
        if data[p] != OCTET_STRING or (n := data[p + 1]) > 0x7F:
            return None
        user = data[p + 2 : p + 2 + n]
        p += 2 + n
        if data[p] != OCTET_STRING or (n := data[p + 1]) > 0x7F:
            return None
        at = p + 2
        p = at + n
        if data[p] != OCTET_STRING or p + 2 + data[p + 1] != len(data):
            return None
    except IndexError:
        return None
    return UsmParameters(engine_id, boots, time, user, data[at:p], data[p + 2 :]), at


def _decode_parameters(data: bytes) -> tuple[UsmParameters, int]:
    start, stop = expect(data, 0, len(data), SEQUENCE, "UsmSecurityParameters")
    if stop != len(data):
        raise SnmpDecodeError("stray bytes after UsmSecurityParameters")
    s, e = expect(data, start, stop, OCTET_STRING, "msgAuthoritativeEngineID")
    if e - s > 32:
        raise SnmpDecodeError(f"msgAuthoritativeEngineID has {e - s} bytes, more than 32")
    engine_id = data[s:e]
    boots, p = read_int(data, e, stop, "msgAuthoritativeEngineBoots")
    time, p = read_int(data, p, stop, "msgAuthoritativeEngineTime")
    if not 0 <= boots <= MAX_BOOTS or not 0 <= time <= MAX_BOOTS:
        raise SnmpDecodeError(f"engine boots {boots} or time {time} out of range")
    s, e = expect(data, p, stop, OCTET_STRING, "msgUserName")
    user = data[s:e]
    auth_start, e = expect(data, e, stop, OCTET_STRING, "msgAuthenticationParameters")
    auth = data[auth_start:e]
    s, e = expect(data, e, stop, OCTET_STRING, "msgPrivacyParameters")
    if e != stop:
        raise SnmpDecodeError("stray bytes in UsmSecurityParameters")
    return UsmParameters(engine_id, boots, time, user, auth, data[s:e]), auth_start


# -- messages -----------------------------------------------------------------------------------


@attrs.frozen
class _Session:
    """What an authenticated user's messages with an engine need, worked out once for both:
    the protocols, the privacy key, the zeroes the digest field holds while hashed, and HMAC's
    inner and outer hashes with the key's pads already hashed in (RFC 2104): copied for each
    message, they save the two blocks of key setup hmac.digest does every time."""

    auth: AuthProtocol
    priv: PrivProtocol
    priv_key: bytes = attrs.field(repr=False)
    zeros: bytes
    inner: "hashlib._Hash" = attrs.field(repr=False)
    outer: "hashlib._Hash" = attrs.field(repr=False)

    def mac(self, *parts: bytes | memoryview) -> bytes:
        """The digest of the message made of parts (its digest field zeroed)."""
        inner = self.inner.copy()
        for part in parts:
            inner.update(part)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()[: len(self.zeros)]


@functools.lru_cache(maxsize=4096)
def _session(user: UsmUser, engine_id: bytes) -> _Session:
    keys = local_keys(user, engine_id)
    inner, outer = hashlib.new(user.auth.hash), hashlib.new(user.auth.hash)
    key = keys.auth.ljust(inner.block_size, b"\0")  # USM keys are never longer than the block
    inner.update(bytes(b ^ 0x36 for b in key))
    outer.update(bytes(b ^ 0x5C for b in key))
    return _Session(user.auth, user.priv, keys.priv, bytes(user.auth.mac_length), inner, outer)


@attrs.frozen(eq=False)
class _Sender:
    """What a sender's messages to an engine share, worked out once: the flags, the user's
    session (None without authentication), msgGlobalData after msgID, the USM parameters'
    engine id, and their user name with the header of the digest (its zeroes follow)."""

    flags: int
    session: _Session | None
    tail: bytes
    engine: bytes
    name: bytes
    # msgSecurityParameters up to the digest, by (boots, time): the same for each message of a
    # second. A few kept (a clock that steps back, a reboot), each built in a microsecond.
    _starts: dict[tuple[int, int], bytes] = attrs.field(factory=dict, init=False)

    def start(self, boots: int, time: int) -> bytes:
        start = self._starts.get((boots, time))
        if start is None:
            head = self.engine + encode_integer(boots) + encode_integer(time) + self.name
            # The content: head, the digest's zeroes and msgPrivacyParameters (8 bytes with privacy).
            n = len(head) + (len(self.session.zeros) if self.session is not None else 0) + (10 if self.flags & FLAG_PRIV else 2)
            params = header(SEQUENCE, n)
            if len(self._starts) >= 4:
                self._starts.clear()
            start = self._starts[boots, time] = header(OCTET_STRING, len(params) + n) + params + head
        return start


@functools.lru_cache(maxsize=4096)
def _sender(user: UsmUser | None, engine_id: bytes, reportable: bool) -> _Sender:
    flags = (user.flags if user is not None else 0) | (FLAG_REPORTABLE if reportable else 0)
    session = _session(user, engine_id) if user is not None and flags & FLAG_AUTH else None
    mac_length = len(session.zeros) if session is not None else 0
    tail = encode_integer(MAX_SIZE) + tlv(OCTET_STRING, bytes((flags,))) + encode_integer(SECURITY_MODEL)
    name = tlv(OCTET_STRING, user.name.encode() if user is not None else b"") + header(OCTET_STRING, mac_length)
    return _Sender(flags, session, tail, tlv(OCTET_STRING, engine_id), name)


def secure_message(
    msg_id: int, scoped: ScopedPdu, user: UsmUser | None, engine_id: bytes, boots: int, time: int, salt: int,
    reportable: bool = True,
) -> bytes:
    """An outgoing v3 message at the user's level, with keys localised to engine_id.
    user None: the engine discovery probe (empty user, noAuthNoPriv)."""
    sender = _sender(user, engine_id, reportable)
    session = sender.session
    data = encode_scoped_pdu(scoped)
    zeros = b""
    after = b"\x04\x00" + data  # what follows the digest: msgPrivacyParameters, the PDU
    if session is not None:
        zeros = session.zeros
        if sender.flags & FLAG_PRIV:
            ciphertext, priv = encrypt(session.priv, session.priv_key, boots, time, salt, data)
            after = b"\x04\x08" + priv + tlv(OCTET_STRING, ciphertext)
    # Built as encode_v3(..., encode_parameters(...), data) would, from the parts the sender
    # keeps: the framing costs as much as the PDU's encoding otherwise.
    mid = encode_signed(msg_id)
    tail = sender.tail  # msgGlobalData's content stays under 128 bytes: a one-byte length
    before = b"\x02\x01\x03" + bytes((SEQUENCE, 2 + len(mid) + len(tail), INTEGER, len(mid))) + mid + tail + sender.start(boots, time)
    before = header(SEQUENCE, len(before) + len(zeros) + len(after)) + before
    if session is None:
        return before + after
    return b"".join((before, session.mac(before, zeros, after), after))


@attrs.frozen
class Opened:
    """An incoming v3 message, checked and decrypted."""

    msg_id: int
    flags: int
    parameters: UsmParameters
    scoped: ScopedPdu

    @property
    def authenticated(self) -> bool:
        return bool(self.flags & FLAG_AUTH)


class UsmRejected(SnmpDecodeError):
    """An incoming v3 message that fails USM's checks: unknown model, a digest that does not
    match, a level the user does not have, an undecryptable PDU."""


def open_message(data: bytes, msg: MessageV3, user: UsmUser | None) -> Opened:
    """Check msg (decoded from data) as the answer to user's request: its digest with the
    user's key localised to the engine it names, then decrypt. Unauthenticated messages are
    taken as they are (Reports of unknown users, wrong digests, discovery): the caller
    decides what they may do. UsmRejected if any check fails."""
    return _open(data, msg.msg_id, msg.flags, msg.security_model, msg.security_parameters, msg.security_offset,
                 user, msg.scoped_pdu, msg.encrypted_pdu)


def open_framed(data: bytes, framing: V3Framing, user: UsmUser | None) -> Opened:
    """open_message for a datagram whose framing message.v3_framing gave: the PDU after the
    security parameters is read here, decrypted before it is decoded. SnmpDecodeError (or
    UsmRejected) if anything is wrong."""
    msg_id, _, flags, model, start, stop = framing
    n = len(data)
    tag, s, e = read_header(data, stop, n)
    if e != n:
        raise SnmpDecodeError(f"stray bytes after the scoped PDU at offset {e}")
    if tag == OCTET_STRING:
        scoped, encrypted = None, memoryview(data)[s:]
    elif tag == SEQUENCE:
        scoped, encrypted = decode_scoped_pdu(data, stop, n), None
    else:
        raise SnmpDecodeError(f"expected a ScopedPDU or encrypted PDU at offset {stop}, found tag 0x{tag:02x}")
    return _open(data, msg_id, flags, model, data[start:stop], start, user, scoped, encrypted)


def _open(
    data: bytes, msg_id: int, flags: int, model: int, security: bytes, security_offset: int, user: UsmUser | None,
    scoped: ScopedPdu | None, encrypted: bytes | memoryview | None,
) -> Opened:
    if model != SECURITY_MODEL:
        raise UsmRejected(f"security model {model}, not USM (3)")
    params, auth_at = decode_parameters(security)
    if flags & FLAG_PRIV and not flags & FLAG_AUTH:
        raise UsmRejected("privacy without authentication (msgFlags)")
    if flags & FLAG_AUTH:
        if user is None or not user.flags & FLAG_AUTH:
            raise UsmRejected("an authenticated message for a request that had no authentication")
        session = _session(user, params.engine_id)
        zeros = session.zeros
        if len(params.auth) != len(zeros):
            raise UsmRejected(f"msgAuthenticationParameters of {len(params.auth)} bytes for {session.auth.name}")
        at = security_offset + auth_at
        view = memoryview(data)
        if not hmac.compare_digest(session.mac(view[:at], zeros, view[at + len(zeros) :]), params.auth):
            raise UsmRejected(f"wrong digest for user {user.name!r}")
        if flags & FLAG_PRIV:
            if not user.flags & FLAG_PRIV or encrypted is None:
                raise UsmRejected("an encrypted message where none was expected, or a plain one marked encrypted")
            try:
                plain = decrypt(session.priv, session.priv_key, params.boots, params.time, params.priv, encrypted)
                scoped = decode_scoped_pdu(plain, 0, len(plain))
            except (SnmpDecodeError, IndexError, ValueError, OverflowError) as exc:
                raise UsmRejected(f"undecryptable PDU (wrong privacy key?): {exc}") from None
            return Opened(msg_id, flags, params, scoped)
    if scoped is None:
        raise UsmRejected("an encrypted PDU without authentication")
    return Opened(msg_id, flags, params, scoped)
