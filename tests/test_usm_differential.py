"""SNMPv3 messages against pysnmp's: what EyeNet secures pysnmp reads, authenticates and
decrypts to the same PDU; what pysnmp secures EyeNet opens; and where nothing random goes
in (noAuthNoPriv, authNoPriv) both encode the same message byte for byte. Every auth and
privacy protocol; the keys themselves are compared in tests/test_usm.py."""

import itertools

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto.secmod.rfc3414 import localkey  # noqa: F401  first: pysnmp's eso modules import in a cycle otherwise

from pysnmp.proto.api import v2c  # isort: skip
from pysnmp.proto.mpmod.rfc3412 import ScopedPDU, SNMPv3Message
from pysnmp.proto.secmod.rfc3414.auth import hmacmd5, hmacsha
from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters
from pysnmp.proto.secmod.rfc7860.auth import hmacsha2
from test_usm import PYSNMP_AUTH, PYSNMP_PRIV

from eyenet.snmp.message import MessageV3, Pdu, PduType, ScopedPdu, decode_message
from eyenet.snmp.usm import AUTH_PROTOCOLS, MAX_SIZE, PRIV_PROTOCOLS, UsmUser, local_keys, open_message, secure_message
from eyenet.snmp.values import Tag, VarBind

ENGINE = bytes.fromhex("80001f888059dc4a4f3b8a5c63")
CONTEXT = b"ctx"
VARBINDS = (
    VarBind((1, 3, 6, 1, 2, 1, 1, 5, 0), Tag.OCTET_STRING, b"router-1"),
    VarBind((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 3), Tag.COUNTER32, 4294967295),
    VarBind((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 3), Tag.COUNTER64, 2**64 - 1),
    VarBind((1, 3, 6, 1, 2, 1, 1, 3, 0), Tag.TIMETICKS, 123456),
    VarBind((1, 3, 6, 1, 2, 1, 99, 1), Tag.NO_SUCH_OBJECT, None),
)
SCOPED = ScopedPdu(ENGINE, CONTEXT, Pdu(PduType.RESPONSE, 77, 0, 0, VARBINDS))
COMBINATIONS = list(itertools.product(AUTH_PROTOCOLS, PRIV_PROTOCOLS))


def pysnmp_auth(name: str):
    service = PYSNMP_AUTH[name]
    if name == "MD5":
        return hmacmd5.HmacMd5()
    if name == "SHA":
        return hmacsha.HmacSha()
    return hmacsha2.HmacSha2(service)


def user(auth: str = "SHA-256", priv: str = "AES", level: str = "authPriv") -> UsmUser:
    return UsmUser("admin", level, auth, "auth-secret-1", priv, "priv-secret-1")


def pysnmp_keys(u: UsmUser) -> tuple[bytes, bytes]:
    """The localised keys as pysnmp makes them (auth, priv)."""
    if not u.flags:
        return b"", b""
    engine = univ.OctetString(ENGINE)
    service = PYSNMP_AUTH[u.auth.name]
    h = pysnmp_auth(u.auth.name)
    auth = h.localize_key(h.hash_passphrase(u.auth_password.encode()), engine)
    priv = b""
    if u.level == "authPriv":
        theirs = PYSNMP_PRIV[u.priv.name]()
        priv = theirs.localize_key(service, theirs.hash_passphrase(service, u.priv_password.encode()), engine)
    return bytes(auth), bytes(priv)


def their_scoped_pdu() -> ScopedPDU:
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, 77)
    v2c.apiPDU.set_varbinds(pdu, [
        ("1.3.6.1.2.1.1.5.0", v2c.OctetString(b"router-1")),
        ("1.3.6.1.2.1.2.2.1.10.3", v2c.Counter32(4294967295)),
        ("1.3.6.1.2.1.31.1.1.1.6.3", v2c.Counter64(2**64 - 1)),
        ("1.3.6.1.2.1.1.3.0", v2c.TimeTicks(123456)),
        ("1.3.6.1.2.1.99.1", v2c.NoSuchObject()),
    ])
    scoped = ScopedPDU()
    scoped.setComponentByPosition(0, ENGINE)
    scoped.setComponentByPosition(1, CONTEXT)
    scoped.setComponentByPosition(2)
    scoped.getComponentByPosition(2).setComponentByType(
        pdu.tagSet, pdu, verifyConstraints=False, matchTags=False, matchConstraints=False
    )
    return scoped


def their_message(u: UsmUser, boots: int, time: int, reportable: bool = False) -> bytes:
    """A v3 message secured by pysnmp's modules, as its USM does (RFC 3414 3.1.1)."""
    auth_key, priv_key = pysnmp_keys(u)
    flags = u.flags | (4 if reportable else 0)
    data = encoder.encode(their_scoped_pdu())
    priv_params = b""
    if u.level == "authPriv":
        encrypted, priv_params = PYSNMP_PRIV[u.priv.name]().encrypt_data(
            univ.OctetString(priv_key), (boots, time, None), data
        )
    params = UsmSecurityParameters()
    for i, value in enumerate((ENGINE, boots, time, b"admin", bytes(u.auth.mac_length) if u.flags else b"", priv_params)):
        params.setComponentByPosition(i, value)
    msg = SNMPv3Message()
    msg.setComponentByPosition(0, 3)
    header = msg.setComponentByPosition(1).getComponentByPosition(1)
    for i, value in enumerate((1234, MAX_SIZE, bytes([flags]), 3)):
        header.setComponentByPosition(i, value)
    msg.setComponentByPosition(2, encoder.encode(params))
    body = msg.setComponentByPosition(3).getComponentByPosition(3)
    if u.level == "authPriv":
        body.setComponentByPosition(1, encrypted)
    else:
        body.setComponentByPosition(0, their_scoped_pdu())
    whole = encoder.encode(msg)
    if not u.flags:
        return whole
    return bytes(pysnmp_auth(u.auth.name).authenticate_outgoing_message(univ.OctetString(auth_key), whole))


def read_with_pysnmp(data: bytes, u: UsmUser):
    """pysnmp's view of a message: its header, its checked digest, its decrypted scoped PDU."""
    msg, rest = decoder.decode(data, asn1Spec=SNMPv3Message())
    assert rest == b""
    header = msg["msgGlobalData"]
    params, rest = decoder.decode(bytes(msg["msgSecurityParameters"]), asn1Spec=UsmSecurityParameters())
    assert rest == b""
    auth_key, priv_key = pysnmp_keys(u)
    if u.flags:
        pysnmp_auth(u.auth.name).authenticate_incoming_message(
            univ.OctetString(auth_key), params["msgAuthenticationParameters"], data
        )  # raises on a wrong digest
    body = msg["msgData"]
    if u.level == "authPriv":
        boots, time = int(params["msgAuthoritativeEngineBoots"]), int(params["msgAuthoritativeEngineTime"])
        plain = PYSNMP_PRIV[u.priv.name]().decrypt_data(
            univ.OctetString(priv_key), (boots, time, params["msgPrivacyParameters"]), body["encryptedPDU"]
        )
        scoped, _ = decoder.decode(bytes(plain), asn1Spec=ScopedPDU())  # DES leaves its padding after it
    else:
        scoped = body["plaintext"]
    return header, params, scoped


@pytest.mark.parametrize("auth_name,priv_name", COMBINATIONS)
def test_pysnmp_reads_what_eyenet_secures(auth_name, priv_name):
    u = user(auth_name, priv_name)
    data = secure_message(1234, SCOPED, u, ENGINE, 5, 999, 0x0102030405060708, reportable=False)
    header, params, scoped = read_with_pysnmp(data, u)
    assert (int(header["msgID"]), int(header["msgMaxSize"]), bytes(header["msgFlags"]), int(header["msgSecurityModel"])) == (
        1234, MAX_SIZE, b"\x03", 3,
    )
    assert (bytes(params["msgAuthoritativeEngineId"]), int(params["msgAuthoritativeEngineBoots"]),
            int(params["msgAuthoritativeEngineTime"]), bytes(params["msgUserName"])) == (ENGINE, 5, 999, b"admin")
    assert (bytes(scoped["contextEngineId"]), bytes(scoped["contextName"])) == (ENGINE, CONTEXT)
    pdu = scoped["data"].getComponent()
    assert int(v2c.apiPDU.get_request_id(pdu)) == 77
    assert bytes(encoder.encode(scoped)) == bytes(encoder.encode(their_scoped_pdu()))


@pytest.mark.parametrize("auth_name,priv_name", COMBINATIONS)
def test_eyenet_opens_what_pysnmp_secures(auth_name, priv_name):
    u = user(auth_name, priv_name)
    data = their_message(u, 5, 999)
    msg = decode_message(data)
    assert isinstance(msg, MessageV3) and (msg.msg_id, msg.flags) == (1234, 3)
    opened = open_message(data, msg, u)
    assert opened.scoped == SCOPED and (opened.parameters.boots, opened.parameters.time) == (5, 999)


@pytest.mark.parametrize("u", [UsmUser("admin", "noAuthNoPriv")] + [user(a, level="authNoPriv") for a in AUTH_PROTOCOLS], ids=lambda u: u.level + (f"-{u.auth.name}" if u.flags else ""))
def test_without_privacy_both_encode_the_same_bytes(u):
    ours = secure_message(1234, SCOPED, u, ENGINE, 5, 999, 0, reportable=True)
    assert ours == their_message(u, 5, 999, reportable=True)


@pytest.mark.parametrize("auth_name", AUTH_PROTOCOLS)
def test_localised_keys_equal_pysnmps_for_engine_ids_of_every_length(auth_name):
    for engine in (bytes([0x80, 0, 0, 0, 4]), ENGINE, bytes(range(32))):
        u = UsmUser("admin", "authPriv", auth_name, "a" * 8, "AES-256", "p" * 64)
        ours = local_keys(u, engine)
        h = pysnmp_auth(auth_name)
        assert ours.auth == bytes(h.localize_key(h.hash_passphrase(b"a" * 8), univ.OctetString(engine)))
        theirs = PYSNMP_PRIV["AES-256"]()
        service = PYSNMP_AUTH[auth_name]
        expected = theirs.localize_key(service, theirs.hash_passphrase(service, b"p" * 64), univ.OctetString(engine))
        assert ours.priv == bytes(expected)[:32]
